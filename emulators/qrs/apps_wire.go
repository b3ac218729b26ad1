package emulator

import "strings"

// The wire form of apps and app objects, as the QRS specification defines them.

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
