import { createMemoryEngine } from '../src/engine/memory.js';
import { runEngineContract } from './engine-contract.js';

runEngineContract('memory', (options) => createMemoryEngine(options));
