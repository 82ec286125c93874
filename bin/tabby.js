#!/usr/bin/env node
// The published entry point: everything lives in the compiled CLI (npm run build).
import '../dist/cli/main.js';
