// The `--activation gelu_new|gelu` option of the commands that create or load models (train, rank, emergence, eval).
// A model file may record its MLP activation or not:
//   HF folder        config.json activation_function (absent = transformers' GPT2Config default, gelu_new): recorded
//   nanoGPT file     metadata model_args.activation: ours write it; nanoGPT's own model_args do not (new_gelu, the
//                    tanh GELU, until 2023; nn.GELU(), the exact one, since), so the option decides there
// The option fills in what a file does not record and must agree with what it does: a file recording gelu_new loaded
// with --activation gelu is an error naming both, never a silent override.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACTIVATIONS, Activation } from './config';
import { Checkpoint, HF_CONFIG_FILE, LoadOptions, loadModelPath } from './hf';
import { readSafetensorsHeader } from './safetensors';
import { quote } from '../util/errors';

/** The ArgSpec entry: parseArgs refuses any other value with the list of choices. */
export const ACTIVATION_OPTION = { type: 'string' as const, choices: [...ACTIVATIONS] as string[] };

export const ACTIVATION_HELP = '--activation gelu_new|gelu (MLP GELU: gelu_new = GPT-2\'s tanh form, gelu = exact erf form of ' +
  'nn.GELU(), current nanoGPT; for files that do not record it, else must agree)';

/** The option's value as an Activation; undefined when not given. Throws on anything else. */
export function parseActivation(value: unknown, flag = '--activation'): Activation | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
  throw new Error(`${flag} ${quote(value)} is not an MLP activation; choose gelu_new (GPT-2's tanh GELU) or gelu (the exact erf GELU of nn.GELU())`);
}

/** What a model path records about its activation, and where; undefined when it records nothing. */
export function recordedActivation(modelPath: string): { activation: string; where: string } | undefined {
  if (fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory()) {
    const file = path.join(modelPath, HF_CONFIG_FILE);
    if (!fs.existsSync(file)) return undefined; // the loader says what is missing
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined; // the loader reports the bad JSON
    }
    if (json.activation_function !== undefined) return { activation: mapHFName(json.activation_function), where: `${file} activation_function` };
    if (json.model_type !== undefined && json.model_type !== 'gpt2') {
      return { activation: `none (model_type ${quote(json.model_type)}: --activation is for GPT-2 models)`, where: file };
    }
    return { activation: 'gelu_new', where: `${file} (no activation_function: transformers' GPT-2 default)` };
  }
  if (!fs.existsSync(modelPath)) return undefined;
  let args: unknown;
  try {
    const meta = readSafetensorsHeader(modelPath).metadata;
    args = meta.model_args === undefined ? undefined : JSON.parse(meta.model_args);
  } catch {
    return undefined; // the loader reports the bad header
  }
  const act = typeof args === 'object' && args !== null ? (args as Record<string, unknown>).activation : undefined;
  return act === undefined ? undefined : { activation: String(act), where: `${modelPath} metadata model_args.activation` };
}

/** HF activation_function names as ours (the tanh ones are gelu_new); others are passed through for the message. */
function mapHFName(name: unknown): string {
  return name === 'gelu_pytorch_tanh' ? 'gelu_new' : String(name);
}

/**
 * loadModelPath with the --activation option applied: given where the file records nothing, checked where it records
 * something (an error naming both when they differ).
 */
export function loadModelWithActivation(modelPath: string, label: string, activation: Activation | undefined, options: LoadOptions = {}): Checkpoint {
  if (activation === undefined) return loadModelPath(modelPath, label, options);
  const rec = recordedActivation(modelPath);
  if (rec && rec.activation !== activation) {
    throw new Error(`--activation ${activation} disagrees with ${label} ${modelPath}: ${rec.where} says ${rec.activation}. ` +
      `Drop --activation to use what the file records`);
  }
  return loadModelPath(modelPath, label, { ...options, config: { ...options.config, activation } });
}
