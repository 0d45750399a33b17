module github.com/ami-bakery/ami-bakery

go 1.26.8
