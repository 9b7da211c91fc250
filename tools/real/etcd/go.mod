// etcd, built by `npm run build:real` (tools/build-real.mjs) into a cache
// folder outside the work tree. etcd 3.6's main package is the root of
// go.etcd.io/etcd/server/v3 (main.go calls etcdmain.Main). Its own go.mod
// replaces only its sibling modules by relative paths (../api, ../pkg, ...)
// and forbids go.etcd.io/etcd and go.etcd.io/tests/v3: none of that applies
// to a module that requires it, so no replace line is needed here.
// No go.sum: the build resolves it in its cache folder.
module clustermesh-runbook/tools/real/etcd

go 1.26.0

tool go.etcd.io/etcd/server/v3

require go.etcd.io/etcd/server/v3 v3.6.17
