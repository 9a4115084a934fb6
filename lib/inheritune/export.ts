// Export for PyTorch: any model built here (inherited, grown, a baseline) as a Hugging Face GPT-2 checkpoint folder
// that transformers and nanoGPT can keep training, with its manifest and a README of the exact steps. Paper-scale
// training (GPT-2 XL, 100K steps) belongs on GPUs with PyTorch (shared DESIGN.md, "Beyond one machine").
// Folder contents:
//   config.json, model.safetensors   GPT2LMHeadModel.from_pretrained(dir) (lib/model/hf writeHFFolder)
//   nanogpt.safetensors              the same weights as a nanoGPT state dict ([out, in] Linear weights, lm_head)
//   inheritune-manifest.json         config + where every tensor came from (ManifestEntry rows)
//   README.txt                       how to continue training
// loadExported(dir) reads it back (weights, config, manifest).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPTConfig, makeConfig } from '../model/config';
import { Params, checkParams } from '../model/params';
import { loadHFFolder, paramsToTensors, tensorsToParams, writeHFFolder, writeNanoGPTSafetensors } from '../model/hf';
import { Manifest, manifestSummary } from './surgery';

export const MANIFEST_FILE = 'inheritune-manifest.json';
export const NANOGPT_FILE = 'nanogpt.safetensors';
export const README_FILE = 'README.txt';

export interface ExportOptions {
  /** Also write nanogpt.safetensors (default true; doubles the disk use). */
  nanogpt?: boolean;
  /** Anything to keep with the manifest (run name, reference, round, val loss ...). JSON-serialisable. */
  info?: Record<string, unknown>;
}

export interface ManifestFile {
  format: 'inheritune-manifest';
  version: 1;
  config: GPTConfig;
  info: Record<string, unknown>;
  /** Per target block / global parameter, as manifestSummary. */
  summary: Array<Record<string, string | number>>;
  entries: Manifest;
}

/** Writes the folder described at the top. Creates no tensors. Returns the files written. */
export async function exportForPyTorch(dir: string, params: Params, cfg: GPTConfig, manifest: Manifest = [], opts: ExportOptions = {}): Promise<string[]> {
  const config = makeConfig(cfg);
  checkParams(params, config);
  const tensors = await paramsToTensors(params);
  writeHFFolder(dir, config, tensors);
  const files = [path.join(dir, 'config.json'), path.join(dir, 'model.safetensors')];
  if (opts.nanogpt ?? true) {
    writeNanoGPTSafetensors(path.join(dir, NANOGPT_FILE), config, tensors);
    files.push(path.join(dir, NANOGPT_FILE));
  }
  const body: ManifestFile = {
    format: 'inheritune-manifest',
    version: 1,
    config: { ...config },
    info: opts.info ?? {},
    summary: manifestSummary(manifest),
    entries: manifest,
  };
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(body, null, 1)}\n`);
  fs.writeFileSync(path.join(dir, README_FILE), exportReadme(config, opts.nanogpt ?? true));
  files.push(path.join(dir, MANIFEST_FILE), path.join(dir, README_FILE));
  return files;
}

/** Reads an exported folder (or any HF GPT-2 folder) back: variables (owned by the caller), config, manifest. */
export function loadExported(dir: string): { params: Params; config: Readonly<GPTConfig>; manifest: Manifest; info: Record<string, unknown>; notes: string[] } {
  const ck = loadHFFolder(dir);
  const mf = path.join(dir, MANIFEST_FILE);
  let manifest: Manifest = [];
  let info: Record<string, unknown> = {};
  if (fs.existsSync(mf)) {
    const body = JSON.parse(fs.readFileSync(mf, 'utf8')) as ManifestFile;
    if (body.format !== 'inheritune-manifest') throw new Error(`${mf}: not an inheritune manifest (format '${String(body.format)}')`);
    manifest = body.entries;
    info = body.info ?? {};
  }
  return { params: tensorsToParams(ck.tensors), config: ck.config, manifest, info, notes: ck.notes };
}

/** The README.txt of an exported folder, with this model's numbers filled in. */
export function exportReadme(cfg: GPTConfig, withNanoGPT: boolean): string {
  const scale = cfg.scaleAttnByInverseLayerIdx;
  const lines = [
    'Inheritune-lab model export',
    '===========================',
    '',
    `GPT-2 architecture: n_layer=${cfg.nLayer}, n_head=${cfg.nHead}, n_embd=${cfg.nEmbd}, block_size=${cfg.blockSize},`,
    `vocab_size=${cfg.vocabSize}, bias=${cfg.bias}, dropout=${cfg.dropout}, scale_attn_by_inverse_layer_idx=${scale}.`,
    'Pre-LN blocks, tanh GELU ("gelu_new"), LayerNorm eps ' + cfg.layerNormEps + ', LM head tied to the token embedding.',
    `${MANIFEST_FILE} lists, for every tensor, whether it was copied from the reference ('ref:<name>'), from a`,
    "previously trained model ('prev:<name>'), or freshly initialised ('init'). Nothing here holds optimizer state:",
    'Inheritune trains every inherited model with a fresh optimizer and a fresh LR schedule (warmup, then cosine).',
    '',
    '1. Hugging Face transformers (PyTorch)',
    '--------------------------------------',
    '    import torch',
    '    from transformers import GPT2LMHeadModel',
    `    model = GPT2LMHeadModel.from_pretrained("<this folder>"${scale ? ', attn_implementation="eager"' : ''})`,
    '    # then train as usual (Trainer, Accelerate, or your own loop), e.g. AdamW(betas=(0.9, 0.95), weight_decay=0.1)',
  ];
  if (scale) {
    lines.push(
      '  attn_implementation="eager" is REQUIRED: this model multiplies attention logits by 1/(layer_idx+1)',
      '  (config.json scale_attn_by_inverse_layer_idx: true), and recent transformers versions ignore that option in',
      '  their default SDPA / flash attention, silently computing a different function.',
    );
  }
  if (!cfg.bias) {
    lines.push(
      '  This model has no biases (bias=false, as the paper\'s runs). transformers\' GPT-2 always has them, so the file',
      '  stores zero biases (same function) and "inheritune_bias": false. To keep training bias-free, freeze them:',
      '    for name, p in model.named_parameters():',
      '        if name.endswith(".bias"): p.requires_grad_(False)',
    );
  }
  lines.push(
    '  Tokenizer: the GPT-2 BPE (AutoTokenizer.from_pretrained("gpt2")) when vocab_size is 50257 or 50304 (the padded',
    '  rows are never produced); smaller vocabularies belong to the tokenizer the data was prepared with.',
    '  Check: model(input_ids).logits should match this project\'s forward() to ~1e-5.',
    '',
  );
  lines.push('2. nanoGPT (github.com/karpathy/nanoGPT, or the authors\' fork GPT2-experiments/model.py)', '-------------------------------------------------------------------------------------');
  if (withNanoGPT) {
    lines.push(
      `  ${NANOGPT_FILE} is a nanoGPT state dict (Linear weights [out, in], lm_head.weight). In train.py, use`,
      "  init_from = 'scratch' with these model args, and load the weights right after `model = GPT(gptconf)`:",
      `    n_layer=${cfg.nLayer}, n_head=${cfg.nHead}, n_embd=${cfg.nEmbd}, block_size=${cfg.blockSize}, bias=${cfg.bias ? 'True' : 'False'}, vocab_size=${cfg.vocabSize}, dropout=${cfg.dropout}`,
      '    from safetensors.torch import load_file',
      `    missing, unexpected = model.load_state_dict(load_file("<this folder>/${NANOGPT_FILE}"), strict=False)`,
      '    assert not unexpected and all(k.endswith(".attn.bias") for k in missing)  # only the causal-mask buffers',
      '  This gives iter_num = 0 and a fresh optimizer and schedule, which is what Inheritune does each round',
      "  (do NOT use init_from = 'resume': it expects a ckpt.pt with optimizer state).",
    );
  } else {
    lines.push('  (nanogpt.safetensors was not written; convert model.safetensors by transposing the four Conv1D weights',
      '  attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj of every block and adding lm_head.weight = transformer.wte.weight.)');
  }
  if (scale) {
    lines.push(
      '  Upstream nanoGPT has no scale_attn_by_inverse_layer_idx: use the authors\' model.py (GPTConfig field',
      '  scale_attn_by_inverse_layer_idx=True), or multiply att by 1.0 / (layer_idx + 1) yourself; otherwise the',
      '  loaded model computes a different function.',
    );
  }
  lines.push(
    '',
    '3. Back into inheritune-lab',
    '---------------------------',
    '  loadExported(dir) (lib/inheritune) or loadHFFolder(dir) (lib/model/hf) reads this folder, and any folder',
    '  transformers\' save_pretrained(..., safe_serialization=True) writes, for rank analysis and evaluation.',
    '',
  );
  return lines.join('\n');
}
