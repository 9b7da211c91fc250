// kwok (nodes and pod lifecycle without kubelets), built by `npm run build:real`
// (tools/build-real.mjs). kwok's own go.mod has no replace line.
// No go.sum: the build resolves it in its cache folder.
module clustermesh-runbook/tools/real/kwok

go 1.26.0

tool sigs.k8s.io/kwok/cmd/kwok

require sigs.k8s.io/kwok v0.8.0
