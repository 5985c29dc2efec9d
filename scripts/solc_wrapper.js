#!/usr/bin/env node
// A `solc` command line that py-solc-x (and so brownie) can drive, backed by the
// npm solc-js compiler: no native binary has to be downloaded.
//   solc --version            -> prints the version in solc's own format
//   solc --standard-json ...  -> standard JSON in on stdin, out on stdout
// Imports are read from disk, relative to the working directory first and the
// project root second, so remapped OpenZeppelin paths resolve to node_modules.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..");
const solc = require(path.join(projectRoot, "node_modules", "solc"));

function findImport(importPath) {
  for (const base of [process.cwd(), projectRoot]) {
    const candidate = path.resolve(base, importPath);
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `File not found: ${importPath}` };
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\n");
  process.stdout.write(`Version: ${solc.version()}\n`);
  process.exit(0);
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  process.stdout.write(solc.compile(input, { import: findImport }));
});
