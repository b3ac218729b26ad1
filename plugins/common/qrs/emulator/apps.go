package emulator

// Apps and app objects (sheets, stories, bookmarks …) with their owners and dates, what
// right-sizing reads, and POST /qrs/license/analyzeraccesstype, its action.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
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

type wireStreamCondensed struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Privileges *[]string `json:"privileges"`
}

type wireAppCondensed struct {
	ID                    string               `json:"id"`
	Name                  string               `json:"name"`
	AppID                 string               `json:"appId"`
	PublishTime           wireTime             `json:"publishTime"`
	Published             bool                 `json:"published"`
	Stream                *wireStreamCondensed `json:"stream"`
	SavedInProductVersion string               `json:"savedInProductVersion"`
	MigrationHash         string               `json:"migrationHash"`
	AvailabilityStatus    int                  `json:"availabilityStatus"`
	Privileges            *[]string            `json:"privileges"`
}

type wireApp struct {
	ID                    string               `json:"id"`
	CreatedDate           wireTime             `json:"createdDate"`
	ModifiedDate          wireTime             `json:"modifiedDate"`
	ModifiedByUserName    string               `json:"modifiedByUserName"`
	CustomProperties      []struct{}           `json:"customProperties"`
	Owner                 *wireUserCondensed   `json:"owner"`
	Name                  string               `json:"name"`
	AppID                 string               `json:"appId"`
	SourceAppID           string               `json:"sourceAppId"`
	TargetAppID           string               `json:"targetAppId"`
	PublishTime           wireTime             `json:"publishTime"`
	Published             bool                 `json:"published"`
	Tags                  []wireTag            `json:"tags"`
	Description           string               `json:"description"`
	Stream                *wireStreamCondensed `json:"stream"`
	FileSize              int64                `json:"fileSize"`
	LastReloadTime        wireTime             `json:"lastReloadTime"`
	Thumbnail             string               `json:"thumbnail"`
	SavedInProductVersion string               `json:"savedInProductVersion"`
	MigrationHash         string               `json:"migrationHash"`
	DynamicColor          string               `json:"dynamicColor"`
	AvailabilityStatus    int                  `json:"availabilityStatus"`
	LastDataDistribution  wireTime             `json:"lastDataDistribution"`
	Privileges            *[]string            `json:"privileges"`
	SchemaPath            string               `json:"schemaPath"`
}

type wireAppObjectCondensed struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	EngineObjectID   string    `json:"engineObjectId"`
	ContentHash      string    `json:"contentHash"`
	EngineObjectType string    `json:"engineObjectType"`
	Description      string    `json:"description"`
	ObjectType       string    `json:"objectType"`
	PublishTime      wireTime  `json:"publishTime"`
	Published        bool      `json:"published"`
	Privileges       *[]string `json:"privileges"`
}

type wireAppObject struct {
	ID                 string             `json:"id"`
	CreatedDate        wireTime           `json:"createdDate"`
	ModifiedDate       wireTime           `json:"modifiedDate"`
	ModifiedByUserName string             `json:"modifiedByUserName"`
	Owner              *wireUserCondensed `json:"owner"`
	Name               string             `json:"name"`
	EngineObjectID     string             `json:"engineObjectId"`
	App                *wireAppCondensed  `json:"app"`
	ContentHash        string             `json:"contentHash"`
	Size               int64              `json:"size"`
	EngineObjectType   string             `json:"engineObjectType"`
	Description        string             `json:"description"`
	Attributes         string             `json:"attributes"`
	ObjectType         string             `json:"objectType"`
	PublishTime        wireTime           `json:"publishTime"`
	Published          bool               `json:"published"`
	Approved           bool               `json:"approved"`
	Tags               []wireTag          `json:"tags"`
	SourceObject       string             `json:"sourceObject"`
	DraftObject        string             `json:"draftObject"`
	AppObjectBlobID    string             `json:"appObjectBlobId"`
	Privileges         *[]string          `json:"privileges"`
	SchemaPath         string             `json:"schemaPath"`
}

const (
	nilGUID        = "00000000-0000-0000-0000-000000000000"
	productVersion = "14.187.4"
)

func (s *Site) wireStream(a *App, priv *[]string) *wireStreamCondensed {
	if !a.Published {
		return nil
	}
	return &wireStreamCondensed{ID: a.StreamID, Name: a.Stream, Privileges: privileges(priv)}
}

func (s *Site) wireAppCondensed(a *App, priv *[]string) *wireAppCondensed {
	if a == nil {
		return nil
	}
	return &wireAppCondensed{
		ID: a.ID, Name: a.Name, AppID: a.ID, PublishTime: wireTime(timeOrSentinel(a.PublishTime)), Published: a.Published,
		Stream: s.wireStream(a, priv), SavedInProductVersion: productVersion, AvailabilityStatus: 0, Privileges: privileges(priv),
	}
}

func (s *Site) wireApp(a *App, priv *[]string) wireApp {
	return wireApp{
		ID: a.ID, CreatedDate: wireTime(a.Created), ModifiedDate: wireTime(a.Modified), ModifiedByUserName: a.ModifiedBy,
		CustomProperties: []struct{}{}, Owner: s.wireUserCondensed(s.userIdx[strings.ToLower(a.OwnerRef)], priv),
		Name: a.Name, AppID: a.ID, SourceAppID: nilGUID, TargetAppID: nilGUID,
		PublishTime: wireTime(timeOrSentinel(a.PublishTime)), Published: a.Published, Tags: []wireTag{},
		Stream: s.wireStream(a, priv), FileSize: 1 << 20, LastReloadTime: wireTime(a.Modified),
		SavedInProductVersion: productVersion, LastDataDistribution: wireTime(noDate),
		Privileges: privileges(priv), SchemaPath: "App",
	}
}

func (s *Site) wireAppObject(o *AppObject, priv *[]string) wireAppObject {
	return wireAppObject{
		ID: o.ID, CreatedDate: wireTime(o.Created), ModifiedDate: wireTime(o.Modified), ModifiedByUserName: o.ModifiedBy,
		Owner: s.wireUserCondensed(s.userIdx[strings.ToLower(o.OwnerRef)], priv), Name: o.Name, EngineObjectID: o.ID,
		App: s.wireAppCondensed(s.appIdx[strings.ToLower(o.AppRef)], priv), ContentHash: "", Size: 2048,
		EngineObjectType: o.ObjectType, ObjectType: o.ObjectType, PublishTime: wireTime(timeOrSentinel(o.PublishTime)),
		Published: o.Published, Approved: o.Approved, Tags: []wireTag{}, Privileges: privileges(priv), SchemaPath: "App.Object",
	}
}

// appRow and objectRow join an app or object with its owner (and app), as filters see it.
type appRow struct {
	a *App
	u *User
}

type objectRow struct {
	o *AppObject
	u *User
	a *App
}

func ownerFields[R any](owner func(R) *User) map[string]field[R] {
	get := func(f func(*User) any) func(R) []any {
		return func(r R) []any {
			if u := owner(r); u != nil {
				return one(f(u))
			}
			return nil
		}
	}
	return map[string]field[R]{
		"owner.id":            {kGUID, get(func(u *User) any { return u.ID })},
		"owner.userid":        {kString, get(func(u *User) any { return u.UserID })},
		"owner.userdirectory": {kString, get(func(u *User) any { return u.UserDirectory })},
		"owner.name":          {kString, get(func(u *User) any { return u.Name })},
	}
}

var appFields = func() map[string]field[appRow] {
	f := ownerFields(func(r appRow) *User { return r.u })
	for k, v := range map[string]field[appRow]{
		"id":                 {kGUID, func(r appRow) []any { return one(r.a.ID) }},
		"name":               {kString, func(r appRow) []any { return one(r.a.Name) }},
		"createddate":        {kTime, func(r appRow) []any { return one(r.a.Created) }},
		"modifieddate":       {kTime, func(r appRow) []any { return one(r.a.Modified) }},
		"modifiedbyusername": {kString, func(r appRow) []any { return one(r.a.ModifiedBy) }},
		"published":          {kBool, func(r appRow) []any { return one(r.a.Published) }},
		"publishtime":        {kTime, func(r appRow) []any { return one(timeOrSentinel(r.a.PublishTime)) }},
		"stream.name": {kString, func(r appRow) []any {
			if !r.a.Published {
				return nil
			}
			return one(r.a.Stream)
		}},
	} {
		f[k] = v
	}
	return f
}()

var objectFields = func() map[string]field[objectRow] {
	f := ownerFields(func(r objectRow) *User { return r.u })
	for k, v := range map[string]field[objectRow]{
		"id":                 {kGUID, func(r objectRow) []any { return one(r.o.ID) }},
		"name":               {kString, func(r objectRow) []any { return one(r.o.Name) }},
		"objecttype":         {kString, func(r objectRow) []any { return one(r.o.ObjectType) }},
		"createddate":        {kTime, func(r objectRow) []any { return one(r.o.Created) }},
		"modifieddate":       {kTime, func(r objectRow) []any { return one(r.o.Modified) }},
		"modifiedbyusername": {kString, func(r objectRow) []any { return one(r.o.ModifiedBy) }},
		"published":          {kBool, func(r objectRow) []any { return one(r.o.Published) }},
		"approved":           {kBool, func(r objectRow) []any { return one(r.o.Approved) }},
		"app.id": {kGUID, func(r objectRow) []any {
			if r.a == nil {
				return nil
			}
			return one(r.a.ID)
		}},
	} {
		f[k] = v
	}
	return f
}()

func (h *handler) apps(method string, segs []string, filter, orderby string, priv *[]string) response {
	objects := len(segs) > 0 && segs[0] == "object"
	if objects {
		segs = segs[1:]
	}
	what, _, ok := sub(method, segs)
	if !ok || method != http.MethodGet || what == "id" {
		return notFound()
	}
	s := h.site
	s.mu.RLock()
	defer s.mu.RUnlock()
	user := func(id string) *User { return s.userIdx[strings.ToLower(id)] }
	if objects {
		return collection[objectRow, wireAppObjectCondensed, wireAppObject]{
			fields: objectFields,
			condensed: func(r objectRow) wireAppObjectCondensed {
				o := r.o
				return wireAppObjectCondensed{ID: o.ID, Name: o.Name, EngineObjectID: o.ID, EngineObjectType: o.ObjectType,
					ObjectType: o.ObjectType, PublishTime: wireTime(timeOrSentinel(o.PublishTime)), Published: o.Published, Privileges: privileges(priv)}
			},
			full: func(r objectRow) wireAppObject { return s.wireAppObject(r.o, priv) },
			all: func() []objectRow {
				rows := make([]objectRow, len(s.objects))
				for i, o := range s.objects {
					rows[i] = objectRow{o: o, u: user(o.OwnerRef), a: s.appIdx[strings.ToLower(o.AppRef)]}
				}
				return rows
			},
		}.list(what, filter, orderby)
	}
	return collection[appRow, *wireAppCondensed, wireApp]{
		fields:    appFields,
		condensed: func(r appRow) *wireAppCondensed { return s.wireAppCondensed(r.a, priv) },
		full:      func(r appRow) wireApp { return s.wireApp(r.a, priv) },
		all: func() []appRow {
			rows := make([]appRow, len(s.apps))
			for i, a := range s.apps {
				rows[i] = appRow{a: a, u: user(a.OwnerRef)}
			}
			return rows
		},
	}.list(what, filter, orderby)
}

// AddAnalyzerResult says what POST /qrs/license/analyzeraccesstype did.
type AddAnalyzerResult int

// The results of AddAnalyzer.
const (
	AnalyzerAdded AddAnalyzerResult = iota
	AnalyzerNoUser
	AnalyzerHeld   // the user holds an analyzer allocation already
	AnalyzerNoSeat // every analyzer seat is allocated
)

// AddAnalyzer gives a user an analyzer allocation, as POST
// /qrs/license/analyzeraccesstype does: refused when the user holds one already or when
// no analyzer seat is left.
func (s *Site) AddAnalyzer(userID string) (Allocation, AddAnalyzerResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	u := s.userIdx[strings.ToLower(userID)]
	if u == nil {
		return Allocation{}, AnalyzerNoUser
	}
	for _, a := range s.allocs[KindAnalyzer] {
		if strings.EqualFold(a.UserRef, u.ID) {
			return Allocation{}, AnalyzerHeld
		}
	}
	if len(s.allocs[KindAnalyzer]) >= s.AnalyzerTotal {
		return Allocation{}, AnalyzerNoSeat
	}
	now := s.Now()
	a := &Allocation{ID: newGUID(), Kind: KindAnalyzer, UserRef: u.ID, Created: now, Modified: now, ModifiedBy: `INTERNAL\sa_repository`}
	s.allocs[KindAnalyzer] = append(s.allocs[KindAnalyzer], a)
	s.aidx[strings.ToLower(a.ID)] = a
	return *a, AnalyzerAdded
}

func newGUID() string {
	a, b := rand.Uint64(), rand.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12)
	b = (b &^ (0x3 << 62)) | (0x2 << 62)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func (h *handler) addAnalyzer(body []byte, priv *[]string) response {
	var item struct {
		User *struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &item); err != nil || item.User == nil || !guidPath.MatchString(item.User.ID) {
		return response{status: http.StatusBadRequest, text: "Invalid item: a LicenseAnalyzerAccessType with user.id is expected"}
	}
	a, res := h.site.AddAnalyzer(item.User.ID)
	switch res {
	case AnalyzerNoUser:
		return response{status: http.StatusBadRequest, text: "The user " + item.User.ID + " does not exist"}
	case AnalyzerHeld:
		return response{status: http.StatusConflict, text: "The user already has an analyzer access"}
	case AnalyzerNoSeat:
		return response{status: http.StatusBadRequest, text: "There are no analyzer access types available"}
	}
	h.site.mu.RLock()
	defer h.site.mu.RUnlock()
	r := jsonBody(h.site.wireAllocation(h.site.aidx[strings.ToLower(a.ID)], priv))
	r.status = http.StatusCreated
	return r
}

// generateAuthoring adds apps and app objects (spec.Apps, spec.AppObjects) from a random
// stream of its own, so that sites generated without them keep their ids and dates. Most
// apps are owned by professional users; an app changed last by the scheduler was reloaded,
// not edited. Sheets belong to the app's owner or, as community sheets, to other
// professional users; stories and bookmarks to anyone (analyzer access makes those too).
func (g *generator) generateAuthoring(site *Site, spec SiteSpec, users []*User) {
	if spec.Apps <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(spec.Seed^0xa9950b, spec.Seed+0xa99))
	old := g.rng
	g.rng = rng
	defer func() { g.rng = old }()
	var pros []*User
	for _, a := range site.allocs[KindProfessional] {
		if u := site.userIdx[strings.ToLower(a.UserRef)]; u != nil {
			pros = append(pros, u)
		}
	}
	if len(pros) == 0 {
		pros = users
	}
	name := func(u *User) string { return u.UserDirectory + `\` + u.UserID }
	streams := []string{"Everyone", "Finance", "Sales", "Operations"}
	apps := make([]*App, 0, spec.Apps)
	for i := range spec.Apps {
		owner := pros[rng.IntN(len(pros))]
		if rng.Float64() < 0.15 {
			owner = users[rng.IntN(len(users))]
		}
		created := g.past(3 * 365 * day)
		a := App{ID: g.uuid(), Name: fmt.Sprintf("App %d", i+1), OwnerRef: owner.ID, Created: created, Modified: created, ModifiedBy: name(owner)}
		switch r := rng.Float64(); {
		case r < 0.35: // edited by its owner since
			a.Modified = created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(created)) + 1))).Truncate(time.Millisecond)
		case r < 0.75: // reloaded by the scheduler
			a.Modified = g.past(30 * day)
			a.ModifiedBy = `INTERNAL\sa_scheduler`
		}
		if rng.Float64() < 0.4 {
			a.Published, a.PublishTime = true, a.Modified
			a.Stream = streams[rng.IntN(len(streams))]
			a.StreamID = tagID("stream:" + a.Stream)
		}
		site.apps = append(site.apps, &a)
		site.appIdx[strings.ToLower(a.ID)] = &a
		apps = append(apps, &a)
	}
	if len(apps) == 0 {
		return
	}
	types := []struct {
		name  string
		share float64
	}{{"sheet", 0.5}, {"story", 0.15}, {"bookmark", 0.25}, {"masterobject", 0.10}}
	for i := range spec.AppObjects {
		app := apps[rng.IntN(len(apps))]
		typ := types[len(types)-1].name
		r := rng.Float64()
		for _, t := range types {
			if r < t.share {
				typ = t.name
				break
			}
			r -= t.share
		}
		owner := site.userIdx[strings.ToLower(app.OwnerRef)]
		switch {
		case typ == "sheet" && rng.Float64() < 0.4:
			owner = pros[rng.IntN(len(pros))] // a community sheet
		case typ == "story" || typ == "bookmark":
			owner = users[rng.IntN(len(users))]
		}
		created := app.Created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(app.Created)) + 1))).Truncate(time.Millisecond)
		o := AppObject{ID: g.uuid(), Name: fmt.Sprintf("%s %d", typ, i+1), AppRef: app.ID, OwnerRef: owner.ID, ObjectType: typ,
			Created: created, Modified: created, ModifiedBy: name(owner), Published: app.Published && rng.Float64() < 0.6}
		if rng.Float64() < 0.3 {
			o.Modified = created.Add(time.Duration(rng.Int64N(int64(g.now.Sub(created)) + 1))).Truncate(time.Millisecond)
		}
		o.Approved = o.Published && owner.ID == app.OwnerRef
		if o.Published {
			o.PublishTime = o.Modified
		}
		site.objects = append(site.objects, &o)
	}
	// Whoever authored something used Qlik Sense then: their allocations' last use is no
	// earlier than their last authoring.
	last := map[string]time.Time{}
	touch := func(owner, by string, created, modified time.Time) {
		u := site.userIdx[strings.ToLower(owner)]
		if u == nil {
			return
		}
		at := created
		if strings.EqualFold(by, name(u)) && modified.After(at) {
			at = modified
		}
		if at.After(last[u.ID]) {
			last[u.ID] = at
		}
	}
	for _, a := range site.apps {
		touch(a.OwnerRef, a.ModifiedBy, a.Created, a.Modified)
	}
	for _, o := range site.objects {
		touch(o.OwnerRef, o.ModifiedBy, o.Created, o.Modified)
	}
	for _, k := range []Kind{KindProfessional, KindAnalyzer} {
		for _, a := range site.allocs[k] {
			if at, ok := last[a.UserRef]; ok && at.After(a.LastUsed) && !at.Before(a.Created) {
				a.LastUsed = at
			}
		}
	}
}
