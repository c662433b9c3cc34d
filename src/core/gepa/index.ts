export * from './types';
export * from './pareto';
export * from './sampler';
export * from './components';
export * from './acceptance';
export * from './budget';
export * from './reflection';
export * from './engine';
