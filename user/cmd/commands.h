/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands; each lives in user/cmd_<name>.c and parses its own options. */
#ifndef PYHOUND_COMMANDS_H
#define PYHOUND_COMMANDS_H

int cmd_list(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_calls(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_queries(int argc, char **argv);

#endif
