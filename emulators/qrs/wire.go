package emulator

import (
	"time"
)

// The wire model: what the emulator writes, field by field in the order a real QRS writes
// them (id and dates first, privileges and schemaPath last). It mirrors the client's types
// in plugins/common/qrs/entities.go on purpose, and is kept apart from them so that a wrong
// field name cannot pass client-against-emulator tests: the conformance tests check these
// bodies against the real QRS specification, and the client's types against the same
// definitions, each on its own.

// noDate is the "no date" sentinel QRS writes (SQL Server's minimum datetime).
var noDate = time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC)

const wireLayout = "2006-01-02T15:04:05.000Z"

// wireTime writes a UTC timestamp with milliseconds, or the 1753 sentinel for the zero time.
type wireTime time.Time

func (t wireTime) MarshalJSON() ([]byte, error) {
	v := time.Time(t)
	if v.IsZero() {
		v = noDate
	}
	return []byte(`"` + v.UTC().Format(wireLayout) + `"`), nil
}

type wireAbout struct {
	BuildVersion      string `json:"buildVersion"`
	BuildDate         string `json:"buildDate"`
	DatabaseProvider  string `json:"databaseProvider"`
	NodeType          int    `json:"nodeType"`
	SharedPersistence bool   `json:"sharedPersistence"`
	RequiresBootstrap bool   `json:"requiresBootstrap"`
	SingleNodeOnly    bool   `json:"singleNodeOnly"`
	SchemaPath        string `json:"schemaPath"`
}

type wireLicense struct {
	ID                 string    `json:"id"`
	CreatedDate        wireTime  `json:"createdDate"`
	ModifiedDate       wireTime  `json:"modifiedDate"`
	ModifiedByUserName string    `json:"modifiedByUserName"`
	Lef                string    `json:"lef"`
	Serial             string    `json:"serial"`
	Check              string    `json:"check"`
	Key                string    `json:"key"`
	KeyDetails         string    `json:"keyDetails"`
	Name               string    `json:"name"`
	Organization       string    `json:"organization"`
	Product            int       `json:"product"`
	NumberOfCores      int       `json:"numberOfCores"`
	IsExpired          bool      `json:"isExpired"`
	ExpiredReason      string    `json:"expiredReason"`
	IsBlacklisted      bool      `json:"isBlacklisted"`
	IsInvalid          bool      `json:"isInvalid"`
	IsSubscription     bool      `json:"isSubscription"`
	IsCloudServices    bool      `json:"isCloudServices"`
	IsElastic          bool      `json:"isElastic"`
	Updated            wireTime  `json:"updated"`
	Privileges         *[]string `json:"privileges"`
	SchemaPath         string    `json:"schemaPath"`
}

type wireOverview struct {
	TotalTokens        int                     `json:"totalTokens"`
	AvailableTokens    int                     `json:"availableTokens"`
	TokensEnabled      bool                    `json:"tokensEnabled"`
	UserAccess         wireUserAccessDetails   `json:"userAccess"`
	LoginAccess        wireLoginAccessDetails  `json:"loginAccess"`
	ProfessionalAccess wireDetails             `json:"professionalAccess"`
	AnalyzerAccess     wireDetails             `json:"analyzerAccess"`
	AnalyzerTimeAccess wireAnalyzerTimeDetails `json:"analyzerTimeAccess"`
	SchemaPath         string                  `json:"schemaPath"`
}

type wireUserAccessDetails struct {
	Enabled           bool    `json:"enabled"`
	TokenCost         float64 `json:"tokenCost"`
	AllocatedTokens   int     `json:"allocatedTokens"`
	UsedTokens        int     `json:"usedTokens"`
	QuarantinedTokens int     `json:"quarantinedTokens"`
	SchemaPath        string  `json:"schemaPath"`
}

type wireLoginAccessDetails struct {
	Enabled           bool    `json:"enabled"`
	TokenCost         float64 `json:"tokenCost"`
	AllocatedTokens   int     `json:"allocatedTokens"`
	UsedTokens        int     `json:"usedTokens"`
	UnavailableTokens int     `json:"unavailableTokens"`
	SchemaPath        string  `json:"schemaPath"`
}

type wireDetails struct {
	Enabled     bool   `json:"enabled"`
	Total       int    `json:"total"`
	Allocated   int    `json:"allocated"`
	Used        int    `json:"used"`
	Quarantined int    `json:"quarantined"`
	Excess      int    `json:"excess"`
	Available   int    `json:"available"`
	SchemaPath  string `json:"schemaPath"`
}

type wireAnalyzerTimeDetails struct {
	Enabled            bool   `json:"enabled"`
	AllocatedMinutes   int    `json:"allocatedMinutes"`
	UsedMinutes        int    `json:"usedMinutes"`
	UnavailableMinutes int    `json:"unavailableMinutes"`
	SchemaPath         string `json:"schemaPath"`
}

type wireUserCondensed struct {
	ID                         string    `json:"id"`
	UserID                     string    `json:"userId"`
	UserDirectory              string    `json:"userDirectory"`
	UserDirectoryConnectorName string    `json:"userDirectoryConnectorName"`
	Name                       string    `json:"name"`
	Privileges                 *[]string `json:"privileges"`
}

// wireAllocation is LicenseProfessionalAccessType / LicenseAnalyzerAccessType; Excess is a
// pointer because LicenseUserAccessType has no such field and must not get one.
type wireAllocation struct {
	ID                   string             `json:"id"`
	CreatedDate          wireTime           `json:"createdDate"`
	ModifiedDate         wireTime           `json:"modifiedDate"`
	ModifiedByUserName   string             `json:"modifiedByUserName"`
	User                 *wireUserCondensed `json:"user"`
	LastUsed             wireTime           `json:"lastUsed"`
	Excess               *bool              `json:"excess,omitempty"`
	Quarantined          bool               `json:"quarantined"`
	QuarantineEnd        wireTime           `json:"quarantineEnd"`
	DeletedUserID        string             `json:"deletedUserId"`
	DeletedUserDirectory string             `json:"deletedUserDirectory"`
	Privileges           *[]string          `json:"privileges"`
	SchemaPath           string             `json:"schemaPath"`
}

// wireCondensed is what a list without /full returns: {id, privileges}.
type wireCondensed struct {
	ID         string    `json:"id"`
	Privileges *[]string `json:"privileges"`
}

// wireNamedCondensed is the condensed form of login and analyzer capacity groups.
type wireNamedCondensed struct {
	ID         string    `json:"id"`
	Privileges *[]string `json:"privileges"`
	Name       string    `json:"name"`
}

type wireUserAttribute struct {
	ID                 string   `json:"id"`
	CreatedDate        wireTime `json:"createdDate"`
	ModifiedDate       wireTime `json:"modifiedDate"`
	ModifiedByUserName string   `json:"modifiedByUserName"`
	AttributeType      string   `json:"attributeType"`
	AttributeValue     string   `json:"attributeValue"`
	ExternalID         string   `json:"externalId"`
	SchemaPath         string   `json:"schemaPath"`
}

type wireTag struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Privileges *[]string `json:"privileges"`
}

type wireCustomPropertyDefinition struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	ValueType    string    `json:"valueType"`
	ChoiceValues []string  `json:"choiceValues"`
	Privileges   *[]string `json:"privileges"`
}

type wireCustomPropertyValue struct {
	ID                 string                       `json:"id"`
	CreatedDate        wireTime                     `json:"createdDate"`
	ModifiedDate       wireTime                     `json:"modifiedDate"`
	ModifiedByUserName string                       `json:"modifiedByUserName"`
	Value              string                       `json:"value"`
	Definition         wireCustomPropertyDefinition `json:"definition"`
	SchemaPath         string                       `json:"schemaPath"`
}

type wireUser struct {
	ID                         string                    `json:"id"`
	CreatedDate                wireTime                  `json:"createdDate"`
	ModifiedDate               wireTime                  `json:"modifiedDate"`
	ModifiedByUserName         string                    `json:"modifiedByUserName"`
	CustomProperties           []wireCustomPropertyValue `json:"customProperties"`
	UserID                     string                    `json:"userId"`
	UserDirectory              string                    `json:"userDirectory"`
	UserDirectoryConnectorName string                    `json:"userDirectoryConnectorName"`
	Name                       string                    `json:"name"`
	Roles                      []string                  `json:"roles"`
	Attributes                 []wireUserAttribute       `json:"attributes"`
	Inactive                   bool                      `json:"inactive"`
	RemovedExternally          bool                      `json:"removedExternally"`
	Blacklisted                bool                      `json:"blacklisted"`
	DeleteProhibited           bool                      `json:"deleteProhibited"`
	Tags                       []wireTag                 `json:"tags"`
	Favorites                  []string                  `json:"favorites"`
	Privileges                 *[]string                 `json:"privileges"`
	SchemaPath                 string                    `json:"schemaPath"`
}

type wireLoginAccessType struct {
	ID                   string    `json:"id"`
	CreatedDate          wireTime  `json:"createdDate"`
	ModifiedDate         wireTime  `json:"modifiedDate"`
	ModifiedByUserName   string    `json:"modifiedByUserName"`
	Name                 string    `json:"name"`
	UsedAccessTypes      int       `json:"usedAccessTypes"`
	RemainingAccessTypes int       `json:"remainingAccessTypes"`
	AssignedAccessTypes  int       `json:"assignedAccessTypes"`
	AssignedTokens       int       `json:"assignedTokens"`
	Privileges           *[]string `json:"privileges"`
	SchemaPath           string    `json:"schemaPath"`
}

type wireAnalyzerTimeAccessType struct {
	ID                 string    `json:"id"`
	CreatedDate        wireTime  `json:"createdDate"`
	ModifiedDate       wireTime  `json:"modifiedDate"`
	ModifiedByUserName string    `json:"modifiedByUserName"`
	Name               string    `json:"name"`
	UsedMinutes        int       `json:"usedMinutes"`
	RemainingMinutes   int       `json:"remainingMinutes"`
	AssignedMinutes    int       `json:"assignedMinutes"`
	AssignedUnits      int       `json:"assignedUnits"`
	Privileges         *[]string `json:"privileges"`
	SchemaPath         string    `json:"schemaPath"`
}

type wireCount struct {
	Value int `json:"value"`
}
