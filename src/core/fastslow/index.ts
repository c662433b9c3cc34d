export * from './pool';
export * from './window';
export * from './assignment';
export * from './advantages';
export * from './acceptance';
export * from './rounds';
export * from './metrics';
