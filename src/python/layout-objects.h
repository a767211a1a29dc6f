/*
 * python/layout-objects: the object-model offsets thread names need
 * (struct py_obj_layout in runtime.h): sys.modules in the interpreter
 * state, types, modules, dicts and their keys, instance values, ints.
 *
 * Three sources, each overriding the one before where it has a member:
 * a built-in table per release (3.8 to 3.13, the one place these
 * constants live), the interpreter's DWARF, and 3.13's
 * _Py_DebugOffsets.  From DWARF, only sys.modules' place in the
 * interpreter state (internal, the most changed; its type is among the
 * first found) unless the release has no table or its version was
 * guessed (3.8 and 3.9 told apart by nothing else): the other types lie
 * deep in the DWARF, walking to them took 7-11 ms (3.8-3.13), more than
 * all the rest of a Python read, for offsets of structures that do not
 * change within a release, and tests/unit/test_python.c checks the
 * table against every interpreter's whole DWARF.  None of it is needed
 * to read threads and frames: a member no source gives stays -1 and the
 * names are left empty.
 */
#ifndef THREADLEAK_PYTHON_LAYOUT_OBJECTS_H
#define THREADLEAK_PYTHON_LAYOUT_OBJECTS_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>

#include "python/runtime.h"

/* The built-in values for release 3.minor into o; -ENOENT (o all -1)
 * for a release without a table. */
int py_objlayout_builtin(int minor, struct py_obj_layout *o);

/* o from mod's DWARF: every member (all) or only is_modules; -1 where
 * it has none.  0, or -ENOENT when not every type named was found. */
int py_objlayout_dwarf(int minor, Dwfl_Module *mod, bool all, struct py_obj_layout *o);

/* rt->o for rt's release, from the table, mod's DWARF (the module that
 * exports _PyRuntime, may be NULL) and, 3.13, the debug offsets
 * runtime.c read (rt->debug).  0 when every member the release has is known, -ENOENT
 * otherwise (rt->o still holds what was found). */
int py_objlayout_find(struct py_runtime *rt, Dwfl_Module *mod);

#endif
