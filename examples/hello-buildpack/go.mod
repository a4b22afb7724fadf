module github.com/paketo/multiarch-buildpack-action/examples/hello-buildpack

go 1.19
