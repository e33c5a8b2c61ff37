// Package layers holds no code: its test checks that qsend's packages
// import only packages of their own stage or of a lower one, in the stage
// order that docs/layout.md describes.
package layers
