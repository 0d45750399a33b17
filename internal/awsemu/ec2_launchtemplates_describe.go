package awsemu

import "slices"

// DescribeLaunchTemplates and DescribeLaunchTemplateVersions, through the
// describe pipeline: MaxResults 1 to 200 with NextToken, and the filters
// below; any other filter is refused.

var launchTemplatesDescribe = &describe[*launchTemplate]{
	idParam: "LaunchTemplateId", idPrefix: "lt", malformed: "InvalidLaunchTemplateId.Malformed",
	minPage: 1, maxPage: 200,
	fields: fields[*launchTemplate]{
		"create-time":          func(lt *launchTemplate) []string { return one(awsTime(lt.created)) },
		"launch-template-name": func(lt *launchTemplate) []string { return one(lt.name) },
	},
	tags: visibleTagsOf[*launchTemplate],
	key:  func(lt *launchTemplate) string { return lt.id },
	list: describableTemplates,
	render: func(r *request, page []*launchTemplate, next string) any {
		return &describeLaunchTemplatesResponse{Templates: itemsOf(page, r.launchTemplateXML), NextToken: next}
	},
}

type describeLaunchTemplatesResponse struct {
	meta
	Templates items[launchTemplateXML] `xml:"launchTemplates"`
	NextToken string                   `xml:"nextToken,omitempty"`
}

// describableTemplates are the caller's templates, narrowed by
// LaunchTemplateId.N or LaunchTemplateName.N.
func describableTemplates(r *request, ids []string) ([]*launchTemplate, error) {
	all, err := named(r.ownTemplates(), func(lt *launchTemplate) string { return lt.id }, ids, func([]string) error {
		return errorf("InvalidLaunchTemplateId.NotFound", "At least one of the launch templates specified in the request does not exist.")
	})
	if err != nil {
		return nil, err
	}
	return named(all, func(lt *launchTemplate) string { return lt.name }, r.p.list("LaunchTemplateName"), func([]string) error {
		return errorf("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
	})
}

var launchTemplateVersionsDescribe = &describe[ltVersionRef]{
	minPage: 1, maxPage: 200,
	fields: fields[ltVersionRef]{
		"create-time":        func(x ltVersionRef) []string { return one(awsTime(x.v.created)) },
		"image-id":           func(x ltVersionRef) []string { return one(x.imageID) },
		"instance-type":      func(x ltVersionRef) []string { return one(x.v.data.instanceType) },
		"is-default-version": func(x ltVersionRef) []string { return boolStr(x.v.number == x.lt.defaultVersion) },
	},
	key:  ltKey,
	list: describableVersions,
	render: func(_ *request, page []ltVersionRef, next string) any {
		return &describeLaunchTemplateVersionsResponse{Versions: itemsOf(page, ltVersionRef.xml), NextToken: next}
	},
}

type describeLaunchTemplateVersionsResponse struct {
	meta
	Versions  items[ltVersionXML] `xml:"launchTemplateVersionSet"`
	NextToken string              `xml:"nextToken,omitempty"`
}

// describableVersions are the versions LaunchTemplateVersion.N names
// ($Latest, $Default or numbers), or all within MinVersion and MaxVersion,
// of the template named; without a template, the $Latest or $Default
// versions of all the caller's templates. With ResolveAlias, resolve:ssm:
// image ids are resolved.
func describableVersions(r *request, _ []string) ([]ltVersionRef, error) {
	refs := r.p.list("LaunchTemplateVersion")
	resolve, err := r.p.boolean("ResolveAlias", false)
	if err != nil {
		return nil, err
	}
	var templates []*launchTemplate
	if r.p.str("LaunchTemplateId") == "" && r.p.str("LaunchTemplateName") == "" {
		if len(refs) == 0 || slices.ContainsFunc(refs, func(v string) bool { return v != "$Latest" && v != "$Default" }) {
			return nil, invalidParameter("Without a launch template id or name, only the versions $Latest and $Default can be described")
		}
		templates = r.ownTemplates()
	} else {
		lt, err := r.templateParam()
		if err != nil {
			return nil, err
		}
		templates = []*launchTemplate{lt}
	}
	var out []ltVersionRef
	for _, lt := range templates {
		vs, err := r.selectVersions(lt, refs)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			x := ltVersionRef{lt, v, v.data.imageID}
			if resolve {
				if x.imageID, err = r.resolveImageAlias(x.imageID); err != nil {
					return nil, err
				}
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// selectVersions picks lt's versions named by refs, else those within
// MinVersion and MaxVersion.
func (r *request) selectVersions(lt *launchTemplate, refs []string) ([]*ltVersion, error) {
	var out []*ltVersion
	for _, ref := range refs {
		v, err := lt.version(ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(refs) > 0 {
		return out, nil
	}
	lo, err := r.p.integer("MinVersion", 1)
	if err != nil {
		return nil, err
	}
	hi, err := r.p.integer("MaxVersion", len(lt.versions))
	if err != nil {
		return nil, err
	}
	for _, v := range lt.versions {
		if v.number >= lo && v.number <= hi {
			out = append(out, v)
		}
	}
	return out, nil
}
