// The real cilium CLI as a Go tool, built by `npm run build:cilium`
// (tools/build-cilium.mjs) into a cache folder outside the work tree.
// The replace line is cilium-cli v0.19.7's own (its go.mod carries it, so
// `go install ...@v0.19.7` refuses the module); keep both in step when the
// version changes. No go.sum here: the build resolves it in its cache folder.
module clustermesh-runbook/tools/cilium-cli

go 1.26.0

tool github.com/cilium/cilium-cli/cmd/cilium

require github.com/cilium/cilium-cli v0.19.7

replace sigs.k8s.io/controller-tools => github.com/cilium/controller-tools v0.21.0-1
