module github.com/hearthllm/hearth

go 1.26.8

require (
	github.com/cogentcore/webgpu v0.23.0 // indirect
	github.com/dlclark/regexp2/v2 v2.13.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
