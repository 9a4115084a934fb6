// Building .ipynb files from code: used by the tests (notebooks that must fail) and to author notebooks.
import * as fs from 'node:fs';
import { KERNEL_NAME } from './kernel';

export interface CellSpec {
  markdown?: string;
  code?: string;
}

/** An nbformat 4.5 notebook for the project kernel, without outputs. Cells get stable ids (nbformat >= 4.5). */
export function makeNotebook(cells: CellSpec[]): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: KERNEL_NAME, display_name: 'TypeScript (inheritune-lab)', language: 'typescript' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
    },
    cells: cells.map((c, i) => {
      const id = `cell-${String(i).padStart(2, '0')}`;
      if (c.markdown !== undefined) return { id, cell_type: 'markdown', metadata: {}, source: splitLines(c.markdown) };
      if (c.code !== undefined) {
        return { id, cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: splitLines(c.code) };
      }
      throw new Error(`cell ${i} has neither markdown nor code`);
    }),
  };
}

// nbformat stores source as a list of lines, each but the last keeping its newline.
function splitLines(text: string): string[] {
  const t = text.replace(/^\n+|\n+$/g, '');
  const lines = t.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l));
}

export function writeNotebook(file: string, cells: CellSpec[]): void {
  fs.writeFileSync(file, JSON.stringify(makeNotebook(cells), null, 1) + '\n');
}
