package impl

import (
	"context"
	"errors"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/tenants"
)

// TokenPath is the token endpoint's path, which the default audience names.
const TokenPath = "/v1/oauth2/tokens"

// noStore keeps tokens and their refusals out of every cache (RFC 6749,
// section 5.1).
const noStore = "no-store"

// CreateAccessToken answers in the terms of RFC 6749 rather than with a
// problem: OAuth client libraries read error and error_description.
func (s *Server) CreateAccessToken(ctx context.Context, req generated.CreateAccessTokenRequestObject) (generated.CreateAccessTokenResponseObject, error) {
	var grantType, assertion string
	if req.Body != nil {
		if req.Body.GrantType != nil {
			grantType = *req.Body.GrantType
		}
		if req.Body.Assertion != nil {
			assertion = *req.Body.Assertion
		}
	}
	info := httpx.InfoFrom(ctx)
	audience := s.tokenAudience
	if audience == "" {
		audience = info.ServerURL + TokenPath
	}
	tok, err := s.tenants.Exchange(ctx, grantType, assertion, audience)
	var ge *tenants.GrantError
	if errors.As(err, &ge) {
		info.ErrorID, info.ErrorCode = ids.New("err_"), ge.Code
		body := generated.TokenError{
			Error: generated.TokenErrorError(ge.Code), ErrorDescription: &ge.Description, ErrorId: info.ErrorID,
		}
		if ge.Code == tenants.GrantInvalidClient {
			return generated.CreateAccessToken401JSONResponse{Body: body, Headers: generated.CreateAccessToken401ResponseHeaders{CacheControl: noStore}}, nil
		}
		return generated.CreateAccessToken400JSONResponse{Body: body, Headers: generated.CreateAccessToken400ResponseHeaders{CacheControl: noStore}}, nil
	}
	if err != nil {
		return nil, err
	}
	return generated.CreateAccessToken200JSONResponse{
		Body: generated.TokenResponse{
			AccessToken: tok.Token,
			TokenType:   generated.TokenResponseTokenTypeBearer,
			ExpiresIn:   int(tok.ExpiresIn.Seconds()),
		},
		Headers: generated.CreateAccessToken200ResponseHeaders{CacheControl: noStore},
	}, nil
}

func (s *Server) GetTokenInfo(ctx context.Context, _ generated.GetTokenInfoRequestObject) (generated.GetTokenInfoResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	body := generated.TokenInfo{ClientId: info.ClientID, ExpiresAt: info.TokenExpiresAt}
	if info.KeyID != "" {
		body.KeyId = &info.KeyID
	}
	return generated.GetTokenInfo200JSONResponse{Body: body}, nil
}
