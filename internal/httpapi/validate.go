package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"
	ginmiddleware "github.com/oapi-codegen/gin-middleware"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/spec"
)

// envelopeSpec returns the copy of the contract that the request validator
// uses. The rows of the batch endpoints are left open in it (each row is
// validated on its own by its service, so that one bad row fails only
// itself), and the batch limit is the configured one.
func envelopeSpec(maxBatchRows int) (*openapi3.T, error) {
	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	// Absolute servers would make the router match on Host, and answer 404
	// to every request that does not use that host.
	doc.Servers = nil
	limit := uint64(maxBatchRows)
	for _, batch := range []struct{ schema, property string }{
		{"ImportInvestorsRequest", "investors"},
		{"CreateSubscriptionsRequest", "subscriptions"},
	} {
		req := doc.Components.Schemas[batch.schema]
		if req == nil || req.Value == nil || req.Value.Properties[batch.property] == nil ||
			req.Value.Properties[batch.property].Value == nil || req.Value.Properties[batch.property].Value.Items == nil {
			return nil, fmt.Errorf("openapi.yaml: components.schemas.%s.properties.%s.items is missing; the request validator cannot open its rows", batch.schema, batch.property)
		}
		rows := req.Value.Properties[batch.property].Value
		// In OpenAPI 3.0 an empty schema still rejects null; nullable admits it.
		rows.Items = openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true})
		rows.MaxItems = &limit
	}
	// The validator would read a body it checks whole into memory (kin-openapi
	// reads every validated body before looking at its type, and again to
	// check security requirements), so a multipart upload is left to its
	// handler, which streams it and holds it to the published rules. The
	// validator's copy drops the upload's body and security requirements;
	// the extension keeps, for the authentication middleware, whether the
	// operation is secured.
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil || op.RequestBody.Value.Content.Get("multipart/form-data") == nil {
				continue
			}
			sec := op.Security
			if sec == nil {
				sec = &doc.Security
			}
			if op.Extensions == nil {
				op.Extensions = map[string]any{}
			}
			op.Extensions[streamedExtension] = len(*sec) > 0
			op.RequestBody, op.Security = nil, &openapi3.SecurityRequirements{}
		}
	}
	return doc, nil
}

// streamedExtension marks, in the validator's copy of the spec, the
// operations whose body is streamed to the handler; its value says whether
// the operation is secured.
const streamedExtension = "x-zest-streamed"

// validator checks requests against doc through gin-middleware, and answers
// failures as problems with specific codes.
func (s *server) validator(doc *openapi3.T) (gin.HandlerFunc, error) {
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build the request validator's router: %w", err)
	}
	opts := &ginmiddleware.Options{
		Options: openapi3filter.Options{
			MultiError: true,
			// The handler binds the value decoded here instead of decoding
			// the body a second time.
			KeepValidatedValue: true,
			// The auth middleware has run by now; this keeps the spec's
			// security requirements enforced should a route ever escape it.
			AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
				if httpx.InfoFrom(in.RequestValidationInput.Request.Context()).ClientID == "" {
					return errors.New("not authenticated")
				}
				return nil
			},
		},
		// Keep the typed errors: the default handler flattens them to text.
		MultiErrorHandler: func(me openapi3.MultiError) error { return me },
	}
	return func(c *gin.Context) {
		if err := ginmiddleware.ValidateRequestFromContext(c, router, opts); err != nil {
			s.problem(c, requestProblem(err))
			return
		}
		c.Next()
	}, nil
}

// requestProblem turns validation failures into the most specific problem.
// Its details are ours: kin-openapi's messages may quote submitted values.
func requestProblem(err error) *apperr.Error {
	var me openapi3.MultiError
	if !errors.As(err, &me) || len(me) == 0 {
		// Route lookup failures arrive as plain errors; the router in front
		// has matched the route already, so this is not the client's doing.
		if errors.Is(err, routers.ErrPathNotFound) {
			return apperr.New(apperr.NotFound, "No such path.")
		}
		return apperr.Wrap(err, apperr.Internal, "request validation failed")
	}
	var best *apperr.Error
	for _, e := range me {
		p := oneProblem(e)
		if best == nil || problemRank(p.Code) < problemRank(best.Code) {
			best = p
		}
	}
	return best
}

func problemRank(c apperr.Code) int {
	switch c {
	case apperr.InvalidToken:
		return 0
	case apperr.PayloadTooLarge:
		return 1
	case apperr.UnsupportedMediaType:
		return 2
	case apperr.InvalidJSON:
		return 3
	case apperr.BatchTooLarge:
		return 4
	}
	return 5
}

func oneProblem(err error) *apperr.Error {
	var secErr *openapi3filter.SecurityRequirementsError
	if errors.As(err, &secErr) {
		return apperr.Wrap(err, apperr.InvalidToken, "The bearer token is missing, malformed, unknown or revoked.")
	}
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return apperr.Wrap(err, apperr.InvalidRequest, "The request does not match the API schema.")
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return apperr.New(apperr.PayloadTooLarge, "The request body exceeds %d bytes.", tooLarge.Limit)
	}
	if reqErr.Parameter != nil {
		return parameterProblem(reqErr)
	}
	switch {
	case strings.HasPrefix(reqErr.Reason, "header Content-Type has unexpected value"):
		return apperr.New(apperr.UnsupportedMediaType, "The request body must be application/json.")
	case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
		return apperr.New(apperr.InvalidRequest, "The request body is required: %s.", describe(jsonBodySchema(reqErr.RequestBody)))
	case reqErr.Reason == "failed to decode request body":
		return apperr.Wrap(err, apperr.InvalidJSON, "The request body is not valid JSON.")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return bodySchemaProblem(se)
	}
	return apperr.Wrap(err, apperr.InvalidRequest, "The request body does not match the API schema.")
}

// bodySchemaProblem explains a body that fails its schema in terms of that
// schema, so that every operation's problems name its own fields.
func bodySchemaProblem(se *openapi3.SchemaError) *apperr.Error {
	pointer := se.JSONPointer()
	path := strings.Join(pointer, ".")
	where := path
	if where == "" {
		where = "The request body"
	}
	switch se.SchemaField {
	case "maxItems":
		n := 0
		if arr, ok := se.Value.([]any); ok {
			n = len(arr)
		}
		max := uint64(0)
		if se.Schema != nil && se.Schema.MaxItems != nil {
			max = *se.Schema.MaxItems
		}
		return apperr.New(apperr.BatchTooLarge, "%s has %d rows; at most %d are accepted per request.", path, n, max)
	case "minItems":
		if se.Schema != nil {
			return apperr.New(apperr.InvalidRequest, "%s must contain at least %d %s.", where, se.Schema.MinItems, plural(se.Schema.MinItems, "item", "items"))
		}
	case "required":
		// The pointer ends with the missing field; the schema is its parent's.
		if n := len(pointer); n > 0 && se.Schema != nil {
			if field := se.Schema.Properties[pointer[n-1]]; field != nil {
				return apperr.New(apperr.InvalidRequest, "%s is required: %s.", path, describe(field.Value))
			}
		}
	case "properties":
		// An unknown property: kin-openapi names it only in its reason.
		if obj, ok := se.Value.(map[string]any); ok && se.Schema != nil {
			var unknown []string
			for k := range obj {
				if se.Schema.Properties[k] == nil {
					unknown = append(unknown, k)
				}
			}
			if len(unknown) > 0 {
				return apperr.New(apperr.InvalidRequest, "%q is not a field of %s, which is %s.",
					clip(slices.Min(unknown)), strings.ToLower(where[:1])+where[1:], describe(se.Schema))
			}
		}
	case "type", "format", "nullable":
		return apperr.New(apperr.InvalidRequest, "%s must be %s.", where, describe(se.Schema))
	}
	return apperr.New(apperr.InvalidRequest, "The request body does not match the API schema at %q.", path)
}

// jsonBodySchema is the schema of an operation's JSON request body.
func jsonBodySchema(body *openapi3.RequestBody) *openapi3.Schema {
	if body == nil {
		return nil
	}
	if mt := body.Content.Get("application/json"); mt != nil && mt.Schema != nil {
		return mt.Schema.Value
	}
	return nil
}

// describe says what a value of schema s is, as a client would write it:
// "a date-time string", or "a JSON object with the required field url and
// the optional field description".
func describe(s *openapi3.Schema) string {
	switch {
	case s == nil:
		return "a value of the documented schema"
	case s.Type.Is("object"):
		return "a JSON object" + fieldsOf(s)
	case s.Type.Is("array"):
		return "an array"
	case s.Type.Is("string") && s.Format != "":
		return "a " + s.Format + " string"
	case s.Type.Is("string"):
		return "a string"
	case s.Type.Is("integer"):
		return "an integer"
	case s.Type.Is("number"):
		return "a number"
	case s.Type.Is("boolean"):
		return "true or false"
	}
	return "a value of the documented schema"
}

func fieldsOf(s *openapi3.Schema) string {
	var required, optional []string
	for name := range s.Properties {
		if slices.Contains(s.Required, name) {
			required = append(required, name)
		} else {
			optional = append(optional, name)
		}
	}
	var parts []string
	if len(required) > 0 {
		parts = append(parts, "the required "+plural(uint64(len(required)), "field ", "fields ")+list(required))
	}
	if len(optional) > 0 {
		parts = append(parts, "the optional "+plural(uint64(len(optional)), "field ", "fields ")+list(optional))
	}
	if len(parts) == 0 {
		return ""
	}
	return " with " + strings.Join(parts, " and ")
}

func list(names []string) string {
	slices.Sort(names)
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clip shortens a client-supplied name before it is echoed back.
func clip(s string) string {
	const max = 64
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func parameterProblem(reqErr *openapi3filter.RequestError) *apperr.Error {
	p := reqErr.Parameter
	if p.In == openapi3.ParameterInHeader && p.Name == idempotency.Header {
		return apperr.New(apperr.InvalidIdempotencyKey, "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
	}
	var se *openapi3.SchemaError
	if errors.As(reqErr, &se) && p.Schema != nil && p.Schema.Value != nil {
		s := p.Schema.Value
		switch se.SchemaField {
		case "minimum", "maximum", "type":
			if s.Min != nil && s.Max != nil {
				return apperr.New(apperr.InvalidRequest, "%s parameter %s must be an integer from %g to %g.", p.In, p.Name, *s.Min, *s.Max)
			}
		case "minLength", "maxLength":
			if s.MaxLength != nil {
				return apperr.New(apperr.InvalidRequest, "%s parameter %s must be 1 to %d characters.", p.In, p.Name, *s.MaxLength)
			}
		}
	}
	var pe *openapi3filter.ParseError
	if errors.As(reqErr, &pe) && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("integer") {
		return apperr.New(apperr.InvalidRequest, "%s parameter %s must be an integer.", p.In, p.Name)
	}
	return apperr.New(apperr.InvalidRequest, "%s parameter %s is invalid.", p.In, p.Name)
}
