// A separate module that builds a slim, real Telegraf at the version the project pins,
// so the project's own go.mod does not carry Telegraf's whole dependency tree.
module github.com/qliksense-license/qliksense-license/tools/telegraf

go 1.26

require github.com/influxdata/telegraf v1.37.2 // indirect
