package emulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

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
