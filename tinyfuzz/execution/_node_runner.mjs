// The warm worker for Python implementations that run under node (MicroPython and Pyodide, both
// WebAssembly). It speaks tinyfuzz's worker protocol (tinyfuzz/execution/_runner.py documents it): one JSON
// request per line on stdin, one JSON response per line on stdout.
//
//   node _node_runner.mjs micropython /path/to/micropython.mjs
//   node _node_runner.mjs pyodide /path/to/pyodide.mjs
//
// Each program runs in a fresh globals dict named __main__. A program cannot be interrupted from
// inside (WebAssembly has no signals), so before each program this writes {"started": i}: the
// harness then kills this process when program i overruns, and knows which program did it.
// If the engine itself fails (a program exited it), the process exits: the harness restarts it.
import { readFileSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const [engine, modulePath] = process.argv.slice(2);
// One streaming decoder: an engine may hand over a character's UTF-8 bytes in separate writes.
const decoder = new TextDecoder();
let captured = "";

// Pyodide is CPython: between programs it puts back what a program changed (the builtins, the
// modules it imported) with _runner.py's own _snapshot/_restore, loaded as a module of its own.
const RUNNER = fileURLToPath(new URL("_runner.py", import.meta.url));

async function load() {
  const module = await import(pathToFileURL(modulePath).href);
  if (engine === "micropython") {
    const mp = await module.loadMicroPython({
      stdout: (bytes) => capture(typeof bytes === "string" ? bytes : decoder.decode(bytes, { stream: true })),
      linebuffer: false,
      heapsize: 256 * 1024 * 1024,
    });
    // MicroPython's modules are read-only, but a builtin set through `builtins` cannot be put back
    // from Python: a program that names builtins gets a fresh engine after it (see the loop below).
    return (source) => mp.runPython(
      `exec(${JSON.stringify(source)}, {'__name__': '__main__'})`);
  }
  if (engine === "pyodide") {
    const py = await module.loadPyodide();
    py.setStdout({ write: (buffer) => { capture(decoder.decode(buffer, { stream: true })); return buffer.length; } });
    const newDict = py.globals.get("dict");
    const runner = newDict();
    runner.set("__name__", "_tinyfuzz_runner");  // not __main__: its main() does not start
    py.runPython(readFileSync(RUNNER, "utf8"), { globals: runner });
    py.runPython("_snapshot()", { globals: runner });
    return (source) => {
      const namespace = newDict();
      namespace.set("__name__", "__main__");
      try {
        py.runPython("imported = set()\nbuiltins.__import__ = _recording_import(imported)",
                     { globals: runner });
        py.runPython(source, { globals: namespace });
      } finally {
        py.runPython("_restore(imported)\nsys.stdout.flush()", { globals: runner });
        namespace.destroy();
      }
    };
  }
  throw new Error(`unknown engine ${engine}: use micropython or pyodide`);
}

let outputLimit = 1 << 20;
let overflow = false;

function capture(text) {  // keeps no more than the limit: a flood of output costs nothing more
  if (captured.length <= outputLimit) captured += text;
  else overflow = true;
}

function send(message) {  // all of it: stdout may be a non-blocking pipe that takes it in parts
  const bytes = Buffer.from(JSON.stringify(message) + "\n");
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

function outcome(run, source) {
  captured = "";
  overflow = false;
  const start = performance.now();
  let status = "ok", excType = "", excMessage = "";
  try {
    run(source);
  } catch (error) {
    if (error && error.type === "SystemExit" && /SystemExit(:\s*(0|None)?)?\s*$/.test(String(error.message))) {
      // sys.exit(0) or sys.exit(): the program ended normally
    } else if (error && error.type) {  // a Python exception: its type and the traceback's last line
      excType = error.type;
      status = excType === "MemoryError" ? "oom" : "exception";
      const lines = String(error.message).trimEnd().split("\n");
      const last = lines[lines.length - 1];
      excMessage = last.startsWith(excType + ":") ? last.slice(excType.length + 1).trim() : "";
    } else {  // the engine itself failed (it exited, or ran out of memory): this process is done
      process.exit(70);
    }
  }
  capture(decoder.decode());  // the end of the program ends any character left incomplete
  const seconds = (performance.now() - start) / 1000;
  if (overflow || captured.length > outputLimit) {
    return ["output-limit", captured.slice(0, outputLimit), "", "", seconds];
  }
  return [status, captured, excType, excMessage, seconds];
}

let run = await load();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line) continue;
  const request = JSON.parse(line);
  outputLimit = request.output_limit ?? 1 << 20;
  const results = [];
  for (const [index, source] of request.programs.entries()) {
    send({ started: index });  // the harness's per-program deadline
    results.push(outcome(run, source));
    if (engine === "micropython" && /\bbuiltins\b/.test(source)) run = await load();
  }
  send({ results });
}
