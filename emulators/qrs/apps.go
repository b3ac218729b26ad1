package emulator

// Apps and app objects (sheets, stories, bookmarks …) with their owners and dates, what
// right-sizing reads, and POST /qrs/license/analyzeraccesstype, its action.

import (
	"strings"
	"time"
)

// App is an app of the emulated site.
type App struct {
	ID          string
	Name        string
	OwnerRef    string // User.ID
	Created     time.Time
	Modified    time.Time
	ModifiedBy  string // DIR\id of whoever changed it last (a reload: the scheduler)
	Published   bool
	PublishTime time.Time
	Stream      string
	StreamID    string
}

// AppObject is an object in an app: a sheet, a story, a bookmark, a master object ….
type AppObject struct {
	ID          string
	Name        string
	AppRef      string // App.ID
	OwnerRef    string // User.ID
	ObjectType  string // "sheet", "story", "bookmark", "masterobject"
	Created     time.Time
	Modified    time.Time
	ModifiedBy  string
	Published   bool
	Approved    bool
	PublishTime time.Time
}

// AddApp adds an app.
func (s *Site) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := a
	s.apps = append(s.apps, &p)
	s.appIdx[strings.ToLower(a.ID)] = &p
}

// AddAppObject adds an app object.
func (s *Site) AddAppObject(o AppObject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := o
	s.objects = append(s.objects, &p)
}

// Apps returns copies of the apps.
func (s *Site) Apps() []App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]App, len(s.apps))
	for i, a := range s.apps {
		out[i] = *a
	}
	return out
}

// AppObjects returns copies of the app objects.
func (s *Site) AppObjects() []AppObject {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]AppObject, len(s.objects))
	for i, o := range s.objects {
		out[i] = *o
	}
	return out
}
