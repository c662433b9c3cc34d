#!/usr/bin/env node
// Writes the JSON Schema of every request the Python workers receive, from the zod schemas of
// src/config/trainer.ts (built into dist/ first: `npm run schema:trainer` does both), to the file
// trainer/gepa_rl_trainer/request_schema.py validates against. test/config/trainerSchema.test.ts checks
// that the committed file equals a fresh export.
const fs = require('fs');
const path = require('path');
const { trainerRequestsJsonSchema } = require('../dist/config/trainer');

const out = path.join(__dirname, '..', 'trainer', 'gepa_rl_trainer', 'requests.schema.json');
fs.writeFileSync(out, JSON.stringify(trainerRequestsJsonSchema(), null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), out)}`);
