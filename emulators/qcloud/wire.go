package qcloudemu

// The wire model: Qlik's published types (@qlik/api 2.19 licenses.d.ts, users.d.ts).

type href struct {
	Href string `json:"href"`
}

type links struct {
	Self *href `json:"self,omitempty"`
	Next *href `json:"next,omitempty"`
	Prev *href `json:"prev,omitempty"`
}

type errorItem struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Status int    `json:"status,omitempty"`
}

// errorResponse is the licenses API's ErrorResponse (with the deprecated error/message)
// and the users API's Errors alike.
type errorResponse struct {
	Error   string      `json:"error,omitempty"`
	Errors  []errorItem `json:"errors"`
	Message string      `json:"message,omitempty"`
	TraceID string      `json:"traceId,omitempty"`
}

type wireAllotment struct {
	Name       string `json:"name"`
	Overage    *int   `json:"overage,omitempty"`
	Units      int    `json:"units"`
	UnitsUsed  int    `json:"unitsUsed"`
	UsageClass string `json:"usageClass"`
}

type wireOverview struct {
	Allotments      []wireAllotment `json:"allotments"`
	LicenseKey      string          `json:"licenseKey"`
	LicenseNumber   string          `json:"licenseNumber"`
	Origin          string          `json:"origin"`
	Parameters      []any           `json:"parameters"`
	Product         string          `json:"product"`
	SecondaryNumber string          `json:"secondaryNumber"`
	Status          string          `json:"status"`
	Trial           bool            `json:"trial"`
	Updated         string          `json:"updated"`
	Valid           string          `json:"valid"`
	Version         string          `json:"version"`
}

type wireStatus struct {
	Deactivated     bool   `json:"deactivated"`
	ExtensionStatus string `json:"extensionStatus"`
	Origin          string `json:"origin"`
	Product         string `json:"product"`
	Status          string `json:"status"`
	Trial           bool   `json:"trial"`
	Type            string `json:"type"`
	Valid           string `json:"valid"`
}

type wireSettings struct {
	AutoAssignAnalyzer     bool `json:"autoAssignAnalyzer"`
	AutoAssignProfessional bool `json:"autoAssignProfessional"`
}

type wireAssignment struct {
	Created string `json:"created"`
	Excess  bool   `json:"excess"`
	Subject string `json:"subject"`
	Type    string `json:"type"`
}

type wireEvent struct {
	AllotmentID  string `json:"allotmentId,omitempty"`
	AppID        string `json:"appId,omitempty"`
	CapacityUsed int    `json:"capacityUsed"`
	Duration     string `json:"duration,omitempty"`
	EndTime      string `json:"endTime,omitempty"`
	ID           string `json:"id,omitempty"`
	LicenseUsage string `json:"licenseUsage,omitempty"`
	MinutesUsed  int    `json:"minutesUsed"`
	SessionID    string `json:"sessionId,omitempty"`
	UserID       string `json:"userId,omitempty"`
}

type wireRole struct {
	ID    string `json:"id"`
	Level string `json:"level"`
	Name  string `json:"name"`
	Type  string `json:"type"`
}

type wireGroup struct {
	AssignedRoles []wireRole `json:"assignedRoles,omitempty"`
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	ProviderType  string     `json:"providerType,omitempty"`
}

type wireUser struct {
	AssignedGroups []wireGroup `json:"assignedGroups,omitempty"`
	AssignedRoles  []wireRole  `json:"assignedRoles,omitempty"`
	CreatedAt      string      `json:"createdAt,omitempty"`
	Email          string      `json:"email,omitempty"`
	ID             string      `json:"id"`
	LastUpdatedAt  string      `json:"lastUpdatedAt,omitempty"`
	Links          *links      `json:"links,omitempty"`
	Name           string      `json:"name"`
	Status         string      `json:"status,omitempty"`
	Subject        string      `json:"subject"`
	TenantID       string      `json:"tenantId"`
}

type wireList[T any] struct {
	Data  []T   `json:"data"`
	Links links `json:"links"`
}

// wireActionItem is one item of an actions request (add/delete/update bodies).
type wireActionItem struct {
	Subject       string `json:"subject"`
	Type          string `json:"type"`
	SourceType    string `json:"sourceType,omitempty"`
	SourceSubject string `json:"sourceSubject,omitempty"`
	Name          string `json:"name,omitempty"`
	UserID        string `json:"userId,omitempty"`
}

// wireItemStatus is one item of a 207.
type wireItemStatus struct {
	Code          string `json:"code,omitempty"`
	SourceSubject string `json:"sourceSubject,omitempty"`
	SourceType    string `json:"sourceType,omitempty"`
	Status        int    `json:"status"`
	Subject       string `json:"subject,omitempty"`
	Title         string `json:"title,omitempty"`
	Type          string `json:"type,omitempty"`
}

type wireToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}
