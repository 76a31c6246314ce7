"""A worker for one semantic mutant: CPython with one deliberate fault, as a toy compiler would be.

Run by the harness as ``python -s _mutant_runner.py MUTANT_ID``. It is tinyfuzz's own worker
(``tinyfuzz/execution/_runner.py``, loaded by path: same JSON-lines protocol, limits and fresh
namespace per program) with how each program is compiled and executed wrapped: the mutant's
``transform`` rewrites the program's syntax tree before it is compiled, and its ``prelude`` runs
first, its definitions then bound in the program's globals.

Standard library only and no tinyfuzz imports, like ``_runner.py``: the mutant API and the suites
beside it are loaded by path (a suite file absent or empty contributes nothing), and this folder
is removed from ``sys.path`` so programs cannot import tinyfuzz's files.
"""

import ast
import builtins
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    del sys.path[0]  # programs must not import the suites or the API as top-level names

# The suites import the API by its package name; it is registered under that name, not imported
# through the package (which would make tinyfuzz importable by programs and cost start-up time).
API_NAME = "tinyfuzz.science._mutant_api"
SUITE_FILES = ("_mutants_language.py", "_mutants_library.py")


class MutantTransformFailed(Exception):
    """The mutant's transform failed on a program: a fault of the suite, not of the program (the
    scorer recognises this type's name and does not count it as a kill)."""


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def load_mutants(wanted=None):
    """{id: Mutant} of the suite files present, in order; stops at the file that has ``wanted``."""
    _load(API_NAME, os.path.join(_HERE, "_mutant_api.py"))
    mutants = {}
    for file in SUITE_FILES:
        path = os.path.join(_HERE, file)
        if os.path.isfile(path):
            suite = _load(f"tinyfuzz.science.{file[:-3]}", path)
            mutants.update((mutant.id, mutant) for mutant in getattr(suite, "MUTANTS", ()))
            if wanted in mutants:
                break
    return mutants


def install(mutant, runner):
    """Make ``runner.run_program`` compile and execute every program with ``mutant`` injected."""
    real_compile, real_exec = builtins.compile, builtins.exec
    transform = mutant.transform
    prelude = real_compile(mutant.prelude, "<mutant prelude>", "exec") if mutant.prelude else None

    def mutant_compile(source, filename, mode):
        if transform is None:
            return real_compile(source, filename, mode)
        tree = ast.parse(source, filename, mode)  # a SyntaxError here is the program's own outcome
        try:
            tree = transform().visit(tree)
            try:  # most programs come back unchanged, and fix_missing_locations is a quarter of
                return real_compile(tree, filename, mode)  # the cost: compile first, fix if needed
            except (TypeError, ValueError):  # "required field lineno missing"
                return real_compile(ast.fix_missing_locations(tree), filename, mode)
        except SyntaxError:  # compile's own checks (return outside a function, ...)
            raise
        except Exception as error:
            raise MutantTransformFailed(f"{mutant.id}: {type(error).__name__}: {error}") from None

    compiled = {}

    def exec_compiled_once(source, globals=None, locals=None):
        """The prelude's exec: a source string it runs is compiled once, not for every program."""
        if isinstance(source, str):
            if source not in compiled:
                compiled[source] = real_compile(source, "<mutant prelude>", "exec")
            source = compiled[source]
        if globals is None:
            caller = sys._getframe(1)
            globals, locals = caller.f_globals, caller.f_locals
        return real_exec(source, globals, locals)

    prelude_builtins = {**vars(builtins), "exec": exec_compiled_once}

    def mutant_exec(code, namespace):
        # The reference worker runs _runner.py as __main__, where __builtins__ is the module; loaded
        # by path it is the module's dict, which a program printing globals() would show.
        namespace["__builtins__"] = builtins
        if prelude is not None:
            # The prelude's functions keep globals of their own, so a program that rebinds a
            # builtin they use (``len = 3``) does not break them, as it would not break a real
            # implementation's builtins; what the prelude defines is then bound in the program's.
            helpers = {"__name__": "__main__", "__builtins__": prelude_builtins}
            real_exec(prelude, helpers)
            namespace.update((name, value) for name, value in helpers.items()
                             if name not in ("__name__", "__builtins__"))
        real_exec(code, namespace)

    runner.compile = mutant_compile  # the names run_program looks up (module globals first)
    runner.exec = mutant_exec


def main():
    mutants = load_mutants(sys.argv[1] if len(sys.argv) == 2 else None)
    if len(sys.argv) != 2 or sys.argv[1] not in mutants:
        given = sys.argv[1] if len(sys.argv) > 1 else "(none)"
        sys.exit(f"_mutant_runner.py: unknown mutant {given}: give one of {', '.join(sorted(mutants))}")
    runner = _load("_runner", os.path.join(_HERE, os.pardir, "execution", "_runner.py"))
    install(mutants[sys.argv[1]], runner)
    runner.main()


if __name__ == "__main__":
    main()
