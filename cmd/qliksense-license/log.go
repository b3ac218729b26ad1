package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/influxdata/telegraf"
)

// prefixLogger writes one line per message with Telegraf's level prefix first ("E! ",
// "W! ", "I! ", "D! "), which inputs.execd maps to its own log levels. Lines are kept
// under execd's 64 KiB stderr limit.
type prefixLogger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
}

const maxLogLine = 16 << 10

func (l *prefixLogger) print(level telegraf.LogLevel, msg string) {
	if level >= telegraf.Debug && !l.debug {
		return
	}
	msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", " ")
	if len(msg) > maxLogLine {
		msg = strings.ToValidUTF8(msg[:maxLogLine], "") + "…"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", level.Indicator(), msg)
}

func (l *prefixLogger) Level() telegraf.LogLevel {
	if l.debug {
		return telegraf.Debug
	}
	return telegraf.Info
}
func (*prefixLogger) AddAttribute(string, interface{}) {}
func (l *prefixLogger) Errorf(f string, a ...interface{}) {
	l.print(telegraf.Error, fmt.Sprintf(f, a...))
}
func (l *prefixLogger) Error(a ...interface{}) { l.print(telegraf.Error, fmt.Sprint(a...)) }
func (l *prefixLogger) Warnf(f string, a ...interface{}) {
	l.print(telegraf.Warn, fmt.Sprintf(f, a...))
}
func (l *prefixLogger) Warn(a ...interface{}) { l.print(telegraf.Warn, fmt.Sprint(a...)) }
func (l *prefixLogger) Infof(f string, a ...interface{}) {
	l.print(telegraf.Info, fmt.Sprintf(f, a...))
}
func (l *prefixLogger) Info(a ...interface{}) { l.print(telegraf.Info, fmt.Sprint(a...)) }
func (l *prefixLogger) Debugf(f string, a ...interface{}) {
	l.print(telegraf.Debug, fmt.Sprintf(f, a...))
}
func (l *prefixLogger) Debug(a ...interface{}) { l.print(telegraf.Debug, fmt.Sprint(a...)) }
func (l *prefixLogger) Tracef(f string, a ...interface{}) {
	l.print(telegraf.Trace, fmt.Sprintf(f, a...))
}
func (l *prefixLogger) Trace(a ...interface{}) { l.print(telegraf.Trace, fmt.Sprint(a...)) }
