package awsemu

import "slices"

// describe is the pipeline every Describe* action shares, with its checks in
// EC2's order, so that a request wrong in two ways gets the error EC2 gives:
//
//  1. the filters parse;
//  2. MaxResults is within [minPage, maxPage], and not given with ids;
//  3. the ids are well-formed (idPrefix, malformed);
//  4. list gathers the caller's candidates, refusing named ids that do not
//     exist, and any other parameter the action takes;
//  5. the filters keep what matches (an unknown filter name is refused here,
//     after the ids, as in EC2);
//  6. the items are sorted by key and the page after NextToken is cut.
//
// render then makes the response from the page (itemsOf helps), and handle,
// the action's handler, runs it all.
type describe[T any] struct {
	// idParam is the id list parameter ("ImageId"), or "" when the action
	// takes none (or list reads several).
	idParam string
	// idPrefix ("ami") and malformed ("InvalidAMIID.Malformed") check the
	// ids' form; an empty idPrefix leaves that to list.
	idPrefix, malformed string
	// minPage and maxPage bound MaxResults; maxPage 0 means the action
	// takes neither MaxResults nor NextToken and answers everything.
	minPage, maxPage int
	// fields are the filters the action supports.
	fields fields[T]
	// tags gives an item's tags as the caller sees them, for tag:KEY,
	// tag-key and tag-value; nil for untaggable resources.
	tags func(r *request, x T) map[string]string
	// key orders the items and names the last one in a NextToken; nil keeps
	// list's order (only for actions without pagination).
	key func(T) string
	// list returns the candidates: all the caller may see when ids is
	// empty, else those named.
	list func(r *request, ids []string) ([]T, error)
	// render makes the response for a page and its NextToken.
	render func(r *request, page []T, next string) any
}

// handle is the action's handler.
func (d *describe[T]) handle(r *request) (any, error) {
	page, next, err := d.run(r)
	if err != nil {
		return nil, err
	}
	return d.render(r, page, next), nil
}

// run returns the page of items the request asks for and the NextToken of
// the page after it ("" at the end).
func (d *describe[T]) run(r *request) ([]T, string, error) {
	fs, err := r.p.filters()
	if err != nil {
		return nil, "", err
	}
	max := 0
	if d.maxPage > 0 {
		if max, err = r.p.maxResults(d.minPage, d.maxPage, d.idParam); err != nil {
			return nil, "", err
		}
	}
	var ids []string
	if d.idParam != "" {
		ids = r.p.list(d.idParam)
	}
	if d.idPrefix != "" {
		if err := checkIDs(ids, d.idPrefix, d.malformed); err != nil {
			return nil, "", err
		}
	}
	all, err := d.list(r, ids)
	if err != nil {
		return nil, "", err
	}
	var tags func(T) map[string]string
	if d.tags != nil {
		tags = func(x T) map[string]string { return d.tags(r, x) }
	}
	got, err := applyFilters(fs, d.fields, tags, all)
	if err != nil || d.key == nil {
		return got, "", err
	}
	token := ""
	if d.maxPage > 0 {
		token = r.p.str("NextToken")
	}
	return paginate(got, d.key, max, token)
}

// visibleTags are the tags of a resource as the caller sees them now.
func (r *request) visibleTags(ts *tagStore) map[string]string { return ts.visible(r.account, r.now) }

// visibleTagsOf is describe.tags for a tagged resource.
func visibleTagsOf[T tagged](r *request, x T) map[string]string { return r.visibleTags(x.tagStore()) }

// itemsOf renders a page of items as an XML item list.
func itemsOf[T, X any](page []T, render func(T) X) items[X] {
	var out items[X]
	for _, x := range page {
		out.Items = append(out.Items, render(x))
	}
	return out
}

// valuesWhere returns the values of m that keep accepts, in no particular
// order (describe sorts them).
func valuesWhere[K comparable, T any](m map[K]T, keep func(T) bool) []T {
	var out []T
	for _, x := range m {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// named keeps the items of all whose id is among ids, or all of them when
// ids is empty; ids that name none of them are refused with notFound, which
// gets every missing id in request order.
func named[T any](all []T, id func(T) string, ids []string, notFound func(missing []string) error) ([]T, error) {
	if len(ids) == 0 {
		return all, nil
	}
	var missing []string
	for _, want := range ids {
		if !slices.ContainsFunc(all, func(x T) bool { return id(x) == want }) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(missing)
	}
	return slices.DeleteFunc(all, func(x T) bool { return !slices.Contains(ids, id(x)) }), nil
}

// notFoundIn is a notFound for named that answers notFoundList(code, noun).
func notFoundIn(code, noun string) func([]string) error {
	return func(missing []string) error { return notFoundList(code, noun, missing) }
}
