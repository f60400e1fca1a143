// Package apigateway is `make dev`'s stand-in for API Gateway and Lambda, in process and without
// Docker: what `sam local start-api` and `sam local start-lambda` do, for the routes and functions of
// template.yaml.
//
//   - Functions runs each function of the template through its aws-lambda-go lambda.Handler, with the
//     template's timeout as the context deadline and a lambdacontext.LambdaContext, one invocation of a
//     function at a time (one warm instance each).
//   - Gateway is the REST API: it routes as API Gateway does ({param}, greedy {proxy+}, ANY), checks
//     AWS_IAM routes' SigV4 signatures (package sigv4), builds the REST proxy integration's
//     events.APIGatewayProxyRequest, and maps the function's response back; what API Gateway refuses
//     it refuses with API Gateway's status and message.
//   - InvokeAPI is Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations), so
//     `aws lambda invoke --endpoint-url …` works against the local functions.
//
// Nothing here logs a payload, a path with its values, a query string or a caller's address: those
// can carry PHI. Logs name the function, the route's template path, the status and the duration.
package apigateway
