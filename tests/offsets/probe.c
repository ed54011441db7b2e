// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prints, as "field value" lines named after struct py_offsets' members, the offsets pyhound's
 * table (user/offsets.c) must hold for the CPython whose headers this is compiled against:
 *   cc -w -I$P/include/python3.X -I$P/include/python3.X/internal probe.c
 * Fields the version lacks are not printed. Used by tests/unit/test_offsets.c. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif
#if PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#endif

#define P(name, val) printf("%s %zu\n", name, (size_t)(val))
#define OFF(name, T, F) P(name, offsetof(T, F))

int main(void)
{
	printf("version_hex %u\n", (unsigned)(PY_VERSION_HEX & 0xffff0000u));
	OFF("runtime_interp_head", _PyRuntimeState, interpreters.head);
#if PY_VERSION_HEX < 0x030C0000
	P("runtime_tsskey", offsetof(_PyRuntimeState, gilstate.autoTSSkey) + offsetof(Py_tss_t, _key));
#else
	P("runtime_tsskey", offsetof(_PyRuntimeState, autoTSSkey) + offsetof(Py_tss_t, _key));
#endif
	OFF("interp_next", PyInterpreterState, next);
#if PY_VERSION_HEX < 0x030B0000
	OFF("interp_threads_head", PyInterpreterState, tstate_head);
#else
	OFF("interp_threads_head", PyInterpreterState, threads.head);
#endif
	OFF("tstate_next", PyThreadState, next);
	OFF("tstate_thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
	OFF("tstate_native_tid", PyThreadState, native_thread_id);
#endif
#if PY_VERSION_HEX < 0x030A0000
	OFF("tstate_frame", PyThreadState, frame);
#elif PY_VERSION_HEX < 0x030B0000
	OFF("tstate_frame", PyThreadState, frame); /* 3.10 also has cframe; frames via f_back */
#elif PY_VERSION_HEX < 0x030D0000
	OFF("tstate_frame", PyThreadState, cframe);
	OFF("cframe_current_frame", _PyCFrame, current_frame);
#else
	OFF("tstate_frame", PyThreadState, current_frame);
#endif
#if PY_VERSION_HEX < 0x030B0000
	OFF("frame_back", PyFrameObject, f_back);
	OFF("frame_code", PyFrameObject, f_code);
	OFF("frame_lasti", PyFrameObject, f_lasti);
	OFF("frame_localsplus", PyFrameObject, f_localsplus);
#else
	OFF("frame_localsplus", _PyInterpreterFrame, localsplus);
	OFF("frame_back", _PyInterpreterFrame, previous);
#if PY_VERSION_HEX >= 0x030D0000
	OFF("frame_code", _PyInterpreterFrame, f_executable);
	OFF("frame_lasti", _PyInterpreterFrame, instr_ptr);
#else
	OFF("frame_code", _PyInterpreterFrame, f_code);
	OFF("frame_lasti", _PyInterpreterFrame, prev_instr);
#endif
	OFF("frame_owner", _PyInterpreterFrame, owner);
#if PY_VERSION_HEX >= 0x030C0000
	P("frame_owner_skip", FRAME_OWNED_BY_CSTACK);
#endif
#endif
	OFF("code_argcount", PyCodeObject, co_argcount);
	OFF("code_flags", PyCodeObject, co_flags);
	OFF("code_firstlineno", PyCodeObject, co_firstlineno);
	OFF("code_filename", PyCodeObject, co_filename);
	OFF("code_name", PyCodeObject, co_name);
#if PY_VERSION_HEX >= 0x030B0000
	OFF("code_qualname", PyCodeObject, co_qualname);
	OFF("code_linetable", PyCodeObject, co_linetable);
	OFF("code_adaptive", PyCodeObject, co_code_adaptive);
#elif PY_VERSION_HEX >= 0x030A0000
	OFF("code_linetable", PyCodeObject, co_linetable);
	OFF("code_code", PyCodeObject, co_code);
#else
	OFF("code_linetable", PyCodeObject, co_lnotab);
	OFF("code_code", PyCodeObject, co_code);
#endif
	OFF("ob_type", PyObject, ob_type);
	OFF("var_size", PyVarObject, ob_size);
	OFF("bytes_sval", PyBytesObject, ob_sval);
	OFF("unicode_length", PyASCIIObject, length);
	OFF("unicode_state", PyASCIIObject, state);
	P("unicode_ascii_data", sizeof(PyASCIIObject));
	P("unicode_compact_data", sizeof(PyCompactUnicodeObject));
	OFF("unicode_data_ptr", PyUnicodeObject, data);
	return 0;
}
