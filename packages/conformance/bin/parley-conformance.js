#!/usr/bin/env node
// Committed shim so that installing the workspace can link the bin before dist/ is built.
import '../dist/cli.js';
