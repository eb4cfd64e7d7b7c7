import writeFileAtomic = require('../dist/types/compat/write-file-atomic');
export = writeFileAtomic;
