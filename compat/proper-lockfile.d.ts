import lockfile = require('../dist/types/compat/proper-lockfile');
export = lockfile;
