/** Every workflow registered on the gepa-rl task queue (names are the Temporal workflow types). */
export { evaluatePrompt } from './evaluatePrompt';
export { rlTraining } from './rlTraining';
export { gepaOptimization } from './gepaOptimization';
export { gepaRlAlternation } from './gepaRlAlternation';
export { expertIteration } from './expertIteration';
export { sftTraining } from './sftTraining';
export { evaluation } from './evaluation';
export { traceGeneration } from './traceGeneration';
export { fastSlowTraining } from './fastSlowTraining';
