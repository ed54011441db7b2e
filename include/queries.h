/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Database queries seen at the client library (bpf/queries.bpf.c): SQLite statement executions
 * (sqlite3_prepare* gives a statement handle its SQL text; an execution runs from its first
 * sqlite3_step after prepare/reset until SQLITE_DONE, an error, reset or finalize) and libpq
 * calls (PQexec & co.: from the call to its result; PQsendQuery* & co., psycopg 3's asynchronous
 * protocol: from the send to the last result before PQgetResult's NULL), with their rows where
 * the library tells them (SQLITE_ROW results, ntups of a query's results). One ring buffer,
 * tagged records. */
#ifndef PYHOUND_QUERIES_H
#define PYHOUND_QUERIES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "sampler.h"

#define Q_TEXT_LEN 1024	  /* SQL bytes sent per statement (NUL included); longer is truncated */
#define Q_FRAMES 32	  /* innermost Python frames kept per query */
#define Q_MAX_ACTIVE 65536 /* hard cap on statements executing at once (all processes) */
#define Q_MAX_PROCS 65536  /* hard cap on the proc_info map */

/* attach cookie: which library function a probe is on */
enum q_func {
	Q_FN_SQLITE_PREPARE = 1, /* sqlite3_prepare, _v2, _v3 (db, sql, nbyte, [flags,] ppStmt, tail) */
	Q_FN_SQLITE_PREPARE_V3,	 /* the one with prepFlags: ppStmt is the 5th argument */
	Q_FN_SQLITE_STEP,
	Q_FN_SQLITE_RESET,
	Q_FN_SQLITE_FINALIZE,
	Q_FN_PQ_EXEC,	       /* PQexec(conn, query): the result is its return */
	Q_FN_PQ_EXEC_PARAMS,   /* PQexecParams(conn, command, ...) */
	Q_FN_PQ_EXEC_PREPARED, /* PQexecPrepared(conn, stmtName, ...) */
	Q_FN_PQ_PREPARE,       /* PQprepare(conn, stmtName, query, ...) */
	Q_FN_PQ_SEND_QUERY,    /* PQsendQuery / PQsendQueryParams(conn, command, ...) */
	Q_FN_PQ_SEND_PREPARED, /* PQsendQueryPrepared(conn, stmtName, ...) */
	Q_FN_PQ_SEND_PREPARE,  /* PQsendPrepare(conn, stmtName, query, ...) */
	Q_FN_PQ_GET_RESULT,    /* PQgetResult(conn): NULL ends an asynchronous query */
};
/* libpq probes' cookies: enum q_func in the low 16 bits, the offset + 1 of PGresult's
 * resultStatus (decoded from the library's PQresultStatus; 0: unknown, errors only as NULL
 * results) in bits 16-31, the offset + 1 of its ntups (from PQntuples; 0: unknown, rows not
 * read) in the high 32 */

enum q_event_type {
	Q_EV_TEXT = 1,	/* a statement handle's SQL text (SQLite prepare, libpq PQprepare) */
	Q_EV_QUERY = 2, /* one execution finished */
};

enum q_lib {
	Q_LIB_SQLITE = 1,
	Q_LIB_PQ = 2,
};

enum q_end {
	Q_END_DONE = 0,	    /* SQLITE_DONE, or libpq's result */
	Q_END_ERROR = 1,    /* sqlite3_step returned an error code; libpq: a NULL result, or one
			     * whose status is PGRES_FATAL_ERROR or PGRES_BAD_RESPONSE */
	Q_END_RESET = 2,    /* reset or finalized while rows were still pending */
};

/* Q_EV_TEXT: the SQL of a statement handle (or a libpq prepared statement's name + query) */
struct q_text_event {
	__u32 type; /* Q_EV_TEXT */
	__u32 pid;
	__u64 handle; /* sqlite3_stmt*; libpq: the thread (PQexec & co.) or the PGconn* (PQsend*)
		       * whose next query record this text belongs to */
	__u32 lib;    /* enum q_lib */
	__u32 len;    /* bytes in text, without the NUL */
	__u32 truncated;
	__u32 pad;
	char name[64]; /* libpq prepared statement name, "" otherwise */
	char text[Q_TEXT_LEN];
};

/* Q_EV_QUERY: one execution. SQLite: handle is the statement (its text came in a Q_EV_TEXT);
 * dur_ns is the time inside sqlite3_step, summed over the execution's steps. libpq: handle is
 * the thread (PQexec & co.) or the PGconn* (PQsend*) whose last Q_EV_TEXT names the query;
 * dur_ns from the call to its result (PQsend*: to the last result before PQgetResult's NULL). */
struct q_query_event {
	__u32 type; /* Q_EV_QUERY */
	__u32 pid, tid;
	__u32 lib; /* enum q_lib */
	__u64 handle;
	__u64 start_ns; /* CLOCK_MONOTONIC at the execution's first step / the call */
	__u64 dur_ns;
	__u64 rows;   /* SQLITE_ROW results; libpq: the ntups of its results (PQntuples) */
	__u32 end;    /* enum q_end */
	__u32 nframes;
	__u32 walk_err;	 /* enum ph_sampler_stat when the stack could not be walked, else 0 */
	__u32 depth;	 /* Python frames on the stack (frames[] holds the innermost Q_FRAMES of
			  * them); 0: deeper than the walker's bound (PH_MAX_FRAMES), unknown */
	__u64 res;	 /* libpq: the (last) PGresult*; else 0 */
	__u32 fn;	 /* enum q_func of the call that issued it */
	__u32 hits;	 /* SQLite: probe hits of this execution (its steps' entries and returns,
			  * a reset that ended it); libpq: 0. For the estimate's probe cost */
	struct ph_frame frames[Q_FRAMES]; /* innermost first */
};

#define Q_QUERY_HDR_SIZE 80 /* records are sent without their unused frames */


/* Budget windows (user/collect/queries.c, probe_window.c): the probes of each execution
 * (sqlite3_step, sqlite3_reset/finalize, PQexec & co., PQsend*, PQgetResult) are attached only
 * in windows; those of prepares (sqlite3_prepare*, PQprepare, PQsendPrepare) stay attached, so
 * that a statement prepared outside a window is still named when it runs in one. Outside a
 * window (window_closed) a prepare sends its text only, no query record. A thread's call in
 * progress is stamped with window_gen (bumped at each window's start and end): one from an
 * earlier window (its return probe detached) is not taken for a call in progress. */

/* per-CPU counters (index in the stats map) */
enum q_stat {
	Q_STAT_QUERIES = 0,  /* executions sent */
	Q_STAT_TEXTS,	     /* statement texts sent */
	Q_STAT_WALKS,	     /* Python stacks walked */
	Q_STAT_WALK_FAILED,  /* stack not walked (no tstate, read error, ...): query kept */
	Q_DROP_RINGBUF,	     /* ring buffer full: a record lost */
	Q_DROP_ACTIVE_FULL,  /* active map full: an execution not timed */
	Q_DROP_NO_INFO,	     /* tracked process not registered with the collector yet */
	Q_STAT_END_ORPHAN,   /* a step returned without its entry (attached mid-call) */
	Q_STAT_PQ_SUPERSEDED, /* PQsend* on a connection whose last query had not ended (pipeline
			       * mode is not followed): the earlier one ended there */
	Q_STAT_PQ_NESTED,    /* libpq calls inside PQexec & co. (its own PQsend*, PQgetResult) */
	Q_STAT_HITS,	     /* probe hits, every process (the budget windows' cost model) */
	Q_STAT_HITS_RET,     /* of which return probes' */
	Q_STAT_TIMED,	     /* hits whose BPF run was timed (one in 16) */
	Q_STAT_BPF_NS,	     /* their BPF time */
	Q_STAT_CALIB,	     /* hits of the calibration probe (pyhound's own code) */
	Q_STAT_MAX,
};

_Static_assert(sizeof(struct q_text_event) == 32 + 64 + Q_TEXT_LEN, "q_text_event layout");
_Static_assert(sizeof(struct q_query_event) == Q_QUERY_HDR_SIZE + 24 * Q_FRAMES,
	       "q_query_event layout");

#endif
