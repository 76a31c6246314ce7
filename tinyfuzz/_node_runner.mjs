// The warm worker for Python implementations that run under node (MicroPython and Pyodide, both
// WebAssembly). It speaks tinyfuzz's worker protocol (tinyfuzz/_runner.py documents it): one JSON
// request per line on stdin, one JSON response per line on stdout.
//
//   node _node_runner.mjs micropython /path/to/micropython.mjs
//   node _node_runner.mjs pyodide /path/to/pyodide.mjs
//
// Each program runs in a fresh globals dict named __main__. A program cannot be interrupted from
// inside (WebAssembly has no signals): the harness's hard deadline kills this process instead.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [engine, modulePath] = process.argv.slice(2);
const decoder = new TextDecoder();
let captured = "";

async function load() {
  const module = await import(pathToFileURL(modulePath).href);
  if (engine === "micropython") {
    const mp = await module.loadMicroPython({
      stdout: (bytes) => { captured += typeof bytes === "string" ? bytes : decoder.decode(bytes); },
      linebuffer: false,
      heapsize: 256 * 1024 * 1024,
    });
    return (source) => mp.runPython(
      `exec(${JSON.stringify(source)}, {'__name__': '__main__'})`);
  }
  if (engine === "pyodide") {
    const py = await module.loadPyodide();
    py.setStdout({ write: (buffer) => { captured += decoder.decode(buffer); return buffer.length; } });
    const newDict = py.globals.get("dict");
    return (source) => {
      const namespace = newDict();
      namespace.set("__name__", "__main__");
      try {
        py.runPython(source, { globals: namespace });
      } finally {
        py.runPython("import sys\nsys.stdout.flush()");
        namespace.destroy();
      }
    };
  }
  throw new Error(`unknown engine ${engine}: use micropython or pyodide`);
}

function outcome(run, source, outputLimit) {
  captured = "";
  const start = performance.now();
  let status = "ok", excType = "", excMessage = "";
  try {
    run(source);
  } catch (error) {
    if (error && error.type) {  // a Python exception: its type and the traceback's last line
      status = "exception";
      excType = error.type;
      const lines = String(error.message).trimEnd().split("\n");
      const last = lines[lines.length - 1];
      excMessage = last.startsWith(excType + ":") ? last.slice(excType.length + 1).trim() : "";
    } else {
      status = "crash";
      excMessage = String(error && error.message || error);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (captured.length > outputLimit) {
    return ["output-limit", captured.slice(0, outputLimit), "", "", seconds];
  }
  return [status, captured, excType, excMessage, seconds];
}

const run = await load();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line) continue;
  const request = JSON.parse(line);
  const limit = request.output_limit ?? 1 << 20;
  const results = request.programs.map((source) => outcome(run, source, limit));
  process.stdout.write(JSON.stringify({ results }) + "\n");
}
