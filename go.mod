module github.com/hearthllm/hearth

go 1.26.8
