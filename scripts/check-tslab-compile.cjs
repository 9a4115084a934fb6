#!/usr/bin/env node
// Type-checks lib/ with the TypeScript that tslab bundles (5.0.4) and the compiler options tslab uses when a
// notebook imports local modules (node_modules/tslab/dist/converter.js): non-strict, ESNext modules resolved as
// node10, target ES2022, lib es2022 only. A library change that only the project's newer TypeScript accepts would
// otherwise break every notebook at its first import.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('@tslab/typescript-for-tslab');

const root = path.resolve(__dirname, '..');
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}
const files = walk(path.join(root, 'lib'));
const options = {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  esModuleInterop: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  resolveJsonModule: true,
  experimentalDecorators: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  typeRoots: [path.join(root, 'node_modules', '@types')],
};
const program = ts.createProgram(files, options);
const diags = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || !d.file.fileName.includes('/node_modules/'));
for (const d of diags) {
  const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.file) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    console.error(`${path.relative(root, d.file.fileName)}(${line + 1},${character + 1}): TS${d.code} ${msg}`);
  } else console.error(`TS${d.code} ${msg}`);
}
if (diags.length) {
  console.error(`tslab's TypeScript ${ts.version} rejects lib/: ${diags.length} error(s)`);
  process.exit(1);
}
console.log(`lib/ compiles with tslab's TypeScript ${ts.version} (${files.length} files)`);
