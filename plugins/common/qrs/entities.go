package qrs

import "strings"

// The entity types below carry the field names and JSON types of the QRS specification
// (definitions of the same name in qrs-openapi-main 38.22.0). Only what the project reads is
// declared; unknown fields in a response are ignored, and null decodes to the zero value.
// The emulator's wire model (emulator/wire.go) mirrors them on purpose, written apart so
// that the two are checked against the specification each on its own.

// About is GET /qrs/about (definition About).
type About struct {
	BuildVersion      string `json:"buildVersion"`
	BuildDate         string `json:"buildDate"`
	DatabaseProvider  string `json:"databaseProvider"`
	NodeType          int    `json:"nodeType"`
	SharedPersistence bool   `json:"sharedPersistence"`
	RequiresBootstrap bool   `json:"requiresBootstrap"`
	SingleNodeOnly    bool   `json:"singleNodeOnly"`
	SchemaPath        string `json:"schemaPath"`
}

// License is GET /qrs/license (definition License): the site's server license.
// Key (the signed license key) is deliberately not declared: nothing needs it and it
// should not travel further than the response body.
type License struct {
	ID                 string   `json:"id"`
	CreatedDate        Time     `json:"createdDate"`
	ModifiedDate       Time     `json:"modifiedDate"`
	ModifiedByUserName string   `json:"modifiedByUserName"`
	Serial             string   `json:"serial"`
	KeyDetails         string   `json:"keyDetails"`
	Name               string   `json:"name"`
	Organization       string   `json:"organization"`
	Product            int      `json:"product"`
	NumberOfCores      int      `json:"numberOfCores"`
	IsExpired          bool     `json:"isExpired"`
	ExpiredReason      string   `json:"expiredReason"`
	IsBlacklisted      bool     `json:"isBlacklisted"`
	IsInvalid          bool     `json:"isInvalid"`
	IsSubscription     bool     `json:"isSubscription"`
	IsCloudServices    bool     `json:"isCloudServices"`
	IsElastic          bool     `json:"isElastic"`
	Updated            Time     `json:"updated"`
	Privileges         []string `json:"privileges"`
	SchemaPath         string   `json:"schemaPath"`
}

// AccessTypeOverview is GET /qrs/license/accesstypeoverview (definition AccessTypeOverview).
type AccessTypeOverview struct {
	TotalTokens        int64                     `json:"totalTokens"`
	AvailableTokens    int64                     `json:"availableTokens"`
	TokensEnabled      bool                      `json:"tokensEnabled"`
	UserAccess         UserAccessDetails         `json:"userAccess"`
	LoginAccess        LoginAccessDetails        `json:"loginAccess"`
	ProfessionalAccess AccessDetails             `json:"professionalAccess"`
	AnalyzerAccess     AccessDetails             `json:"analyzerAccess"`
	AnalyzerTimeAccess AnalyzerTimeAccessDetails `json:"analyzerTimeAccess"`
	SchemaPath         string                    `json:"schemaPath"`
}

// AccessDetails is the professional and analyzer part of the overview
// (definition AccessTypeOverviewDetailsCondensed).
type AccessDetails struct {
	Enabled     bool   `json:"enabled"`
	Total       int64  `json:"total"`
	Allocated   int64  `json:"allocated"`
	Used        int64  `json:"used"`
	Quarantined int64  `json:"quarantined"`
	Excess      int64  `json:"excess"`
	Available   int64  `json:"available"`
	SchemaPath  string `json:"schemaPath"`
}

// UserAccessDetails is the token-model user pass part of the overview
// (definition AccessTypeOverviewUserAccessDetailsCondensed).
type UserAccessDetails struct {
	Enabled           bool    `json:"enabled"`
	TokenCost         float64 `json:"tokenCost"`
	AllocatedTokens   int64   `json:"allocatedTokens"`
	UsedTokens        int64   `json:"usedTokens"`
	QuarantinedTokens int64   `json:"quarantinedTokens"`
	SchemaPath        string  `json:"schemaPath"`
}

// LoginAccessDetails is the token-model login pass part of the overview
// (definition AccessTypeOverviewLoginAccessDetailsCondensed).
type LoginAccessDetails struct {
	Enabled           bool    `json:"enabled"`
	TokenCost         float64 `json:"tokenCost"`
	AllocatedTokens   int64   `json:"allocatedTokens"`
	UsedTokens        int64   `json:"usedTokens"`
	UnavailableTokens int64   `json:"unavailableTokens"`
	SchemaPath        string  `json:"schemaPath"`
}

// AnalyzerTimeAccessDetails is the analyzer capacity part of the overview
// (definition AccessTypeOverviewAnalyzerTimeAccessDetailsCondensed).
type AnalyzerTimeAccessDetails struct {
	Enabled            bool   `json:"enabled"`
	AllocatedMinutes   int64  `json:"allocatedMinutes"`
	UsedMinutes        int64  `json:"usedMinutes"`
	UnavailableMinutes int64  `json:"unavailableMinutes"`
	SchemaPath         string `json:"schemaPath"`
}

// Allocation is one row of /qrs/license/{professional,analyzer,user}accesstype/full
// (definitions LicenseProfessionalAccessType, LicenseAnalyzerAccessType and
// LicenseUserAccessType; the last has no excess field, which then decodes as false).
// User is nil for the allocation of a deleted user still in quarantine.
type Allocation struct {
	ID                   string         `json:"id"`
	CreatedDate          Time           `json:"createdDate"`
	User                 *UserCondensed `json:"user"`
	LastUsed             Time           `json:"lastUsed"`
	Excess               bool           `json:"excess"`
	Quarantined          bool           `json:"quarantined"`
	QuarantineEnd        Time           `json:"quarantineEnd"`
	DeletedUserID        string         `json:"deletedUserId"`
	DeletedUserDirectory string         `json:"deletedUserDirectory"`
}

// UserCondensed is the user reference inside an allocation (definition UserCondensed).
type UserCondensed struct {
	ID            string `json:"id"`
	UserID        string `json:"userId"`
	UserDirectory string `json:"userDirectory"`
}

// User is /qrs/user/full and /qrs/user/{id} (definition User).
type User struct {
	ID                         string                `json:"id"`
	CreatedDate                Time                  `json:"createdDate"`
	ModifiedDate               Time                  `json:"modifiedDate"`
	ModifiedByUserName         string                `json:"modifiedByUserName"`
	CustomProperties           []CustomPropertyValue `json:"customProperties"`
	UserID                     string                `json:"userId"`
	UserDirectory              string                `json:"userDirectory"`
	UserDirectoryConnectorName string                `json:"userDirectoryConnectorName"`
	Name                       string                `json:"name"`
	Roles                      []string              `json:"roles"`
	Attributes                 []UserAttribute       `json:"attributes"`
	Inactive                   bool                  `json:"inactive"`
	RemovedExternally          bool                  `json:"removedExternally"`
	Blacklisted                bool                  `json:"blacklisted"`
	DeleteProhibited           bool                  `json:"deleteProhibited"`
	Tags                       []TagCondensed        `json:"tags"`
	Privileges                 []string              `json:"privileges"`
	SchemaPath                 string                `json:"schemaPath"`
}

// UserAttribute is one attribute a user directory connector read for a user (definition
// UserAttribute), e.g. attributeType "email".
type UserAttribute struct {
	ID             string `json:"id"`
	AttributeType  string `json:"attributeType"`
	AttributeValue string `json:"attributeValue"`
	ExternalID     string `json:"externalId"`
}

// Email is the user's first non-empty attribute of type "email" (matched
// case-insensitively, as user directory connectors spell it "email" or "Email"), or "".
func (u *User) Email() string {
	for _, a := range u.Attributes {
		if strings.EqualFold(a.AttributeType, "email") && strings.TrimSpace(a.AttributeValue) != "" {
			return strings.TrimSpace(a.AttributeValue)
		}
	}
	return ""
}

// TagCondensed is a tag reference (definition TagCondensed).
type TagCondensed struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Privileges []string `json:"privileges"`
}

// CustomPropertyValue is one custom property value of a user (definition CustomPropertyValue).
type CustomPropertyValue struct {
	ID         string                            `json:"id"`
	Value      string                            `json:"value"`
	Definition CustomPropertyDefinitionCondensed `json:"definition"`
	SchemaPath string                            `json:"schemaPath"`
}

// CustomPropertyDefinitionCondensed names a custom property (definition CustomPropertyDefinitionCondensed).
type CustomPropertyDefinitionCondensed struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ValueType    string   `json:"valueType"`
	ChoiceValues []string `json:"choiceValues"`
	Privileges   []string `json:"privileges"`
}

// count is the body of GET /qrs/<type>/count. The specification says "integer", every
// live site and every client in the wild says {"value": N}.
type count struct {
	Value int64 `json:"value"`
}

// Holder is the user directory and id of the allocation's user, or of its deleted user
// when the user record is gone (user is null).
func (a *Allocation) Holder() (directory, id string) {
	if a.User != nil {
		return a.User.UserDirectory, a.User.UserID
	}
	return a.DeletedUserDirectory, a.DeletedUserID
}

// HolderName is Holder as DIRECTORY\id, as the QMC and Butler write a user.
func (a *Allocation) HolderName() string {
	dir, id := a.Holder()
	return dir + `\` + id
}

// Enabled reports whether the license family of an allocation type is switched on.
func (o *AccessTypeOverview) Enabled(t AccessType) bool {
	switch t {
	case Professional:
		return o.ProfessionalAccess.Enabled
	case Analyzer:
		return o.AnalyzerAccess.Enabled
	default:
		return o.UserAccess.Enabled
	}
}

// App is one app of GET /qrs/app/full (definition App): what right-sizing reads.
type App struct {
	ID                 string           `json:"id"`
	CreatedDate        Time             `json:"createdDate"`
	ModifiedDate       Time             `json:"modifiedDate"`
	ModifiedByUserName string           `json:"modifiedByUserName"`
	Owner              *UserCondensed   `json:"owner"`
	Name               string           `json:"name"`
	PublishTime        Time             `json:"publishTime"`
	Published          bool             `json:"published"`
	Stream             *StreamCondensed `json:"stream"`
}

// StreamCondensed is a stream reference (definition StreamCondensed).
type StreamCondensed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AppCondensed is an app reference (definition AppCondensed).
type AppCondensed struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Published bool   `json:"published"`
}

// AppObject is one app object of GET /qrs/app/object/full (definition AppObject): a
// sheet, story, bookmark …, with its owner and dates.
type AppObject struct {
	ID                 string         `json:"id"`
	CreatedDate        Time           `json:"createdDate"`
	ModifiedDate       Time           `json:"modifiedDate"`
	ModifiedByUserName string         `json:"modifiedByUserName"`
	Owner              *UserCondensed `json:"owner"`
	Name               string         `json:"name"`
	App                *AppCondensed  `json:"app"`
	ObjectType         string         `json:"objectType"`
	Published          bool           `json:"published"`
	Approved           bool           `json:"approved"`
}
