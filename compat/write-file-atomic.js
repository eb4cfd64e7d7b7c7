// `ledgerlock/compat/write-file-atomic` for resolvers that ignore package.json `exports` (jest < 28, TypeScript's node10 resolution).
module.exports = require('../dist/compat/write-file-atomic.js');
