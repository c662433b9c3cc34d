/**
 * The JSON Schema the Python workers validate every request against is exported from the zod
 * schemas of src/config/trainer.ts; the committed file must be that export, and the requests the
 * workflows build from a parsed config must pass it (the schema is strict: an extra field is refused).
 */
import { readFileSync } from 'fs';
import path from 'path';
import {
  modelRefOf,
  optimParams,
  parseWorkflowInput,
  policySampleRequestSchema,
  samplingParams,
  trainerRequestsJsonSchema,
  trainStepRequestSchema,
  type RlInput,
} from '../../src/config';

const FILE = path.join(__dirname, '..', '..', 'trainer', 'gepa_rl_trainer', 'requests.schema.json');

test('the committed trainer request schema equals a fresh export from zod (else run `npm run schema:trainer`)', () => {
  const committed = readFileSync(FILE, 'utf8');
  expect(committed).toBe(JSON.stringify(trainerRequestsJsonSchema(), null, 2) + '\n');
  const activities = JSON.parse(committed).activities;
  expect(Object.keys(activities).sort()).toEqual(['math_verify_rollouts', 'policy_kl_to_base', 'policy_sample', 'train_step', 'wandb_log']);
  // every field the TS side always sends is required on the Python side, defaults included
  expect(activities.train_step.properties.optim.required).toEqual(['learning_rate', 'beta1', 'beta2', 'eps', 'weight_decay', 'grad_clip']);
  expect(activities.policy_sample.properties.model.additionalProperties).toBe(false);
});

test('the requests built from a parsed config by the one mapping of each part pass the request schemas', () => {
  const input = parseWorkflowInput<RlInput>('rlTraining', { rl: { learning_rate: 3e-4 }, optim: { beta1: 0.8 }, policy: { temperature: 0.7 } });
  const ref = { uri: 'file:///tmp/runs/x/blobs/a.json', sha256: 'a'.repeat(64), bytes: 10 };
  const model = modelRefOf(input.policy)!;
  const step = trainStepRequestSchema.parse({
    run_id: 'x',
    step: 0,
    model,
    checkpoint_in: null,
    checkpoint_root: '/tmp/runs/x/checkpoints',
    loss: input.rl.loss,
    rollouts_ref: ref,
    advantages: [1, -1],
    optim: optimParams(input.rl.learning_rate, input.optim),
  });
  expect(step.optim).toEqual({ learning_rate: 3e-4, beta1: 0.8, beta2: 0.95, eps: 1e-8, weight_decay: 0, grad_clip: 0 });
  const sample = policySampleRequestSchema.parse({ model, checkpoint: null, prompts_ref: ref, num_samples: 4, sampling: samplingParams(input.policy, 7), blob_dir: '/tmp/b', return_texts: false });
  expect(sample.sampling).toEqual({ max_tokens: 256, temperature: 0.7, top_p: 1, seed: 7 });
  // an API policy has no model reference for the trainer
  expect(modelRefOf(parseWorkflowInput<any>('evaluation', { policy: { backend: 'api' } }).policy)).toBeNull();
  // a field the trainer does not know is refused, not carried along unread
  expect(() => trainStepRequestSchema.parse({ ...step, optim: { ...step.optim, momentum: 0.9 } })).toThrow(/momentum/);
});
