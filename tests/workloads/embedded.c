// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A program that is not python but embeds a shared libpython (like uwsgi or a game engine):
 * runs the Python file given as argv[1] with the remaining arguments. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	FILE *f;
	wchar_t **wargv;
	int i, rc;

	if (argc < 2)
		return 2;
	wargv = PyMem_RawMalloc(sizeof(*wargv) * argc);
	for (i = 1; i < argc; i++)
		wargv[i - 1] = Py_DecodeLocale(argv[i], NULL);
	Py_Initialize();
	PySys_SetArgvEx(argc - 1, wargv, 0);
	f = fopen(argv[1], "r");
	if (!f)
		return 2;
	rc = PyRun_SimpleFileEx(f, argv[1], 1);
	if (Py_FinalizeEx() < 0)
		rc = 120;
	return rc ? 1 : 0;
}
