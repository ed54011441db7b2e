# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run CPython's own regression tests (the interpreter's bundled `test` package) in this process,
# once a line arrives on stdin: the caller attaches a tracer to this PID first.
# usage: python regrtest_wait.py TEST_MODULE...
import runpy
import signal
import sys

# A shell starting us in the background leaves SIGINT ignored, and Python then installs no
# KeyboardInterrupt handler: test_generators' SIGINT test would fail for that reason alone.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.stdin.readline()
sys.argv = ["test"] + sys.argv[1:]
runpy.run_module("test", run_name="__main__", alter_sys=True)
