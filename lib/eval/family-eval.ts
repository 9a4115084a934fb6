// `eval --model <Llama / Mistral / Qwen2 / GPT-NeoX Hugging Face folder>`: the folder is opened by rank's opener
// (lib/metrics/rank-model: config.json's model_type picks the family, weights' headers and shapes are checked), its
// own tokenizer.json (or --tokenizer DIR's) is read with the harness version's encoding rules (./hf-eval-tokenizer),
// and HookedModelScorer scores the requests with the family's forward. max_length defaults to config.json's
// max_position_embeddings (the harness's resolve_max_length); inputs are cut from the left as for GPT-2
// (./requests requestInput). A folder without a tokenizer is refused: GPT-2's BPE is never substituted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Activation } from '../model/config';
import { HF_TOKENIZER_FILE } from '../data/hf-tokenizer';
import { OpenedRankModel, familyConfigOf, openRankModel } from '../metrics/rank-model';
import { folderModelFingerprint } from './cache';
import { HarnessHFTokenizer, harnessHFTokenizer } from './hf-eval-tokenizer';
import type { HarnessVersion } from './tasks';

export interface OpenedFamilyEval {
  model: OpenedRankModel;
  tokenizer: HarnessHFTokenizer;
  /** 'llama', 'mistral', 'qwen2' or 'gpt_neox'. */
  modelType: string;
  /** config.json's max_position_embeddings: the default max_length. */
  contextLength: number;
  /** Reads config.json, the weight files and the tokenizer's hash (see folderModelFingerprint). */
  fingerprint(): string;
}

export interface FamilyEvalOptions {
  harness: HarnessVersion;
  allowNonFinite: boolean;
  activation?: Activation;
  /** A folder holding tokenizer.json to use instead of the model folder's. */
  tokenizerDir?: string;
  /** Harness 0.4's HFLM add_bos_token (default None: the tokenizer's default special tokens). */
  addBosToken?: boolean;
}

/**
 * Opens `modelPath` for eval when it is a Llama / NeoX folder; undefined for a GPT-2 checkpoint (which the caller
 * loads as before). Needs no backend: a wrong folder, a missing tokenizer or a tokenizer whose ids the model cannot
 * embed fails here, before anything runs.
 */
export function openFamilyEval(modelPath: string, o: FamilyEvalOptions): OpenedFamilyEval | undefined {
  if (!fs.existsSync(modelPath)) throw new Error(`--model ${modelPath}: no such file or folder`);
  if (!familyConfigOf(modelPath, 'eval')) {
    if (o.tokenizerDir !== undefined) throw new Error(`--tokenizer is for Llama / NeoX folders; ${modelPath} is a GPT-2 checkpoint, scored with GPT-2's BPE`);
    if (o.addBosToken !== undefined) throw new Error(`--add_bos_token is for Llama / NeoX folders; ${modelPath} is a GPT-2 checkpoint (GPT-2's BPE adds no BOS)`);
    return undefined;
  }
  const model = openRankModel(modelPath, { allowNonFinite: o.allowNonFinite, activation: o.activation, command: 'eval' });
  const family = model.family!;
  const tokDir = path.resolve(o.tokenizerDir ?? modelPath);
  if (!fs.existsSync(path.join(tokDir, HF_TOKENIZER_FILE))) {
    const where = o.tokenizerDir === undefined ? `the model folder ${tokDir} has no ${HF_TOKENIZER_FILE}` : `--tokenizer ${tokDir} has no ${HF_TOKENIZER_FILE}`;
    throw new Error(`${where}: eval scores a ${family.config.modelType} model with its own tokenizer (never GPT-2's BPE); ` +
      `put the model's ${HF_TOKENIZER_FILE} (and tokenizer_config.json) there${o.tokenizerDir === undefined ? ' or pass --tokenizer DIR' : ''}`);
  }
  const tokenizer = harnessHFTokenizer(tokDir, o.harness, o.addBosToken);
  if (tokenizer.vocabSize > family.config.vocabSize) {
    throw new Error(`${path.join(tokDir, HF_TOKENIZER_FILE)} has token ids up to ${tokenizer.vocabSize - 1} but the model's vocab_size is ` +
      `${family.config.vocabSize}: this tokenizer is not the model's`);
  }
  return {
    model,
    tokenizer,
    modelType: family.config.modelType,
    contextLength: family.config.contextLength,
    fingerprint: () => folderModelFingerprint(path.join(family.folder, 'config.json'), family.weightFiles, tokenizer.sha256),
  };
}
