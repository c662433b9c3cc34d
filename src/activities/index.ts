/** Every TS activity registered on the gepa-rl task queue. */
export * from './run';
export * from './tasks';
export * from './llm';
export * from './reflection';
export * from './expert';
export * from './tau2';
export * from './fastSlow';
