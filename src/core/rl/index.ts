export * from './advantages';
export * from './batching';
export * from './metrics';
export * from './sampling';
