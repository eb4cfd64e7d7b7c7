// `ledgerlock/compat/proper-lockfile` for resolvers that ignore package.json `exports` (jest < 28, TypeScript's node10 resolution).
module.exports = require('../dist/compat/proper-lockfile.js');
