// What `rank --model PATH` profiles, as a HookedModel: a GPT-2 checkpoint (HF folder or nanoGPT export, through
// lib/model/hf) or a Llama / Mistral / Qwen2 / GPT-NeoX Hugging Face folder (lib/model/families); `eval --model`
// opens its Llama / NeoX folders here too (lib/eval/family-eval). Opening checks the
// config and the weights' headers and shapes (no backend needed, so a bad path fails before anything starts);
// load() then puts the weights into tfjs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tensorsToParams } from '../model/hf';
import { Activation } from '../model/config';
import { loadModelWithActivation } from '../model/activation-option';
import { disposeParams } from '../model/params';
import { HookedModel, ModelDims, gptHookedModel } from '../model/hooked-model';
import { FAMILY_MODEL_TYPES, FamilyConfig, isFamilyConfig, parseFamilyConfig } from '../model/families/family-config';
import type { SlidingWindow } from '../model/families/sliding-window';
import { quote } from '../util/errors';
import { checkFamilyTensors, familyFloat32Bytes, FamilyModel } from '../model/families/family-model';
import { openTensorStore, readJSONFile } from '../model/families/hf-folder';

export interface OpenedRankModel {
  dims: ModelDims;
  /** 'gpt2', 'llama', 'mistral', 'qwen2' or 'gpt_neox'. */
  modelType: string;
  notes: string[];
  /** A Llama / NeoX folder: its parsed config.json and weight files (undefined for GPT-2 checkpoints). */
  family?: { config: FamilyConfig; folder: string; weightFiles: string[] };
  /** Puts the weights into tfjs (call after initBackend). */
  load(): HookedModel;
  dispose(): void;
}

export interface OpenModelOptions {
  allowNonFinite: boolean;
  residentLimitBytes?: number;
  activation?: Activation;
  /** The command named in messages (default 'rank'); 'rank' also adds the notes about profiling token ids. */
  command?: string;
}

/** config.json of PATH when it is a folder holding one that names a Llama / NeoX family (undefined for GPT-2). */
export function familyConfigOf(modelPath: string, command = 'rank'): FamilyConfig | undefined {
  const file = path.join(modelPath, 'config.json');
  if (!fs.statSync(modelPath).isDirectory() || !fs.existsSync(file)) return undefined;
  const json = readJSONFile(file);
  if (json.model_type !== undefined && json.model_type !== 'gpt2' && !isFamilyConfig(json)) {
    throw new Error(`${file}: unknown model_type ${quote(json.model_type)}; ${command} --model reads gpt2, ${FAMILY_MODEL_TYPES.join(', ')}`);
  }
  if (!isFamilyConfig(json)) return undefined;
  return parseFamilyConfig(json, file);
}

/** Opens what `rank --model` and `eval --model` read (see the file comment); `o.command` names the caller. */
export function openRankModel(modelPath: string, o: OpenModelOptions): OpenedRankModel {
  if (!fs.existsSync(modelPath)) throw new Error(`--model ${modelPath}: no such file or folder`);
  const command = o.command ?? 'rank';
  const fcfg = familyConfigOf(modelPath, command);
  if (fcfg) {
    if (o.activation !== undefined) {
      throw new Error(`--activation is for GPT-2 models; ${modelPath} is a ${fcfg.modelType} folder whose config.json names its activation`);
    }
    const store = openTensorStore(modelPath);
    checkFamilyTensors(fcfg, store);
    const f32 = familyFloat32Bytes(store);
    const mode = f32 <= (o.residentLimitBytes ?? 2 * 1024 ** 3) ? 'resident' : 'streamed';
    let model: FamilyModel | undefined;
    const notes = [
      `${fcfg.modelType}: ${(f32 / 4 / 1e6).toFixed(0)}M parameters in ${store.files.length} file(s); ` +
        (mode === 'streamed' ? 'weights stay on disk and each block is read and widened to float32 just before it runs' : 'weights widened to float32 once'),
    ];
    if (command === 'rank') notes.push(`the data's token ids are fed to the model as they are: profile a real ${fcfg.modelType} model on data tokenized with its own tokenizer`);
    if (command === 'rank' && fcfg.slidingWindow) notes.push(slidingWindowRankNote(fcfg.slidingWindow));
    if (command === 'rank' && mode === 'streamed') {
      notes.push(`the layer-skip losses (--causal-windows) take ${2 * fcfg.nLayer + 1} full forwards, each reading every block from disk again: --causal-windows 0 skips them`);
    }
    return {
      dims: { nLayer: fcfg.nLayer, nHead: fcfg.nHead, nEmbd: fcfg.dModel, blockSize: fcfg.contextLength, vocabSize: fcfg.vocabSize },
      modelType: fcfg.modelType,
      notes,
      family: { config: fcfg, folder: modelPath, weightFiles: store.files },
      load: () => (model = new FamilyModel(fcfg, store, mode, !o.allowNonFinite)),
      dispose: () => model?.dispose(),
    };
  }
  // F16/BF16 stay 16-bit until tensorsToParams widens them one at a time (and drops each host copy).
  const ckpt = loadModelWithActivation(modelPath, '--model', o.activation, { allowNonFinite: o.allowNonFinite, half: 'keep' });
  let params: ReturnType<typeof tensorsToParams> | undefined;
  return {
    dims: ckpt.config,
    modelType: 'gpt2',
    notes: ckpt.notes,
    load: () => gptHookedModel((params = tensorsToParams(ckpt.tensors, false, { consume: true })), ckpt.config),
    dispose: () => {
      if (params) disposeParams(params);
    },
  };
}

/**
 * What a sliding window does to the rank protocol's numbers: with windows (T) longer than the band, rows past it
 * cannot reach position 0, and a banded pattern is not a causal one.
 */
export function slidingWindowRankNote(sw: SlidingWindow): string {
  const on = sw.layers.flatMap((w, l) => (w ? [l + 1] : []));
  const which = on.length === sw.layers.length ? `all ${on.length} layers` : `layers ${on.join(', ')} of ${sw.layers.length}`;
  return `${which} attend within a sliding window of ${sw.size} keys: with windows (--t) longer than ${sw.size}, rows past it ` +
    'cannot reach position 0, so those layers\' attention on position 0 and sink rate read low by construction, and a ' +
    'banded pattern\'s rank is not comparable with a causal one\'s (use --t <= the window to compare)';
}
