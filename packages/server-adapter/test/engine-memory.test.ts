import { createMemoryEngine } from '../src/engines/memory/index.js';
import { runEngineContract } from './engine-contract.js';

runEngineContract('memory', (options) => createMemoryEngine(options));
