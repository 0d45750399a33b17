package awsemu

import (
	"encoding/base64"
	"slices"
)

// Paging by name, for the services whose lists are sorted by name (SSM's
// GetParametersByPath, Auto Scaling's Describe* actions): a NextToken is the
// last name of the page before, opaque to the client. EC2's Describe*
// actions page in the describe pipeline instead.

// pageToken is the NextToken of a page that ends with name.
func pageToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

// pageStart is the index in names (sorted) where the page after token
// starts; a token that is not one of pageToken's is InvalidNextToken.
func pageStart(names []string, token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	last, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(last) == 0 {
		return 0, clientError("InvalidNextToken", "The specified token isn't valid.")
	}
	i, found := slices.BinarySearch(names, string(last))
	if found {
		i++
	}
	return i, nil
}
